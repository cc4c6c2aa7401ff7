"""The texts the app shows: the artist card and the confidence note."""
import pandas as pd

from painting_classifier.app.cards import artist_card, confidence_note

REMBRANDT_BIO = ("Rembrandt Harmenszoon van Rijn (; Dutch: [ˈrɛmbrɑnt ˈɦɑrmə(n)soːn vɑn ˈrɛin] (listen); 15 July "
                 "1606 – 4 October 1669) was a Dutch draughtsman, painter, and printmaker. An innovative and prolific "
                 "master in three media, he is generally considered one of the greatest visual artists.")


def test_the_artist_card_shows_the_bio_without_pronunciation_debris():
    row = pd.Series({"name": "Rembrandt", "years": "1606 - 1669", "genre": "Baroque", "nationality": "Dutch",
                     "bio": REMBRANDT_BIO, "wikipedia": "http://en.wikipedia.org/wiki/Rembrandt", "train_paintings": 74})
    card = artist_card(row, 0.5)
    assert "Rembrandt Harmenszoon van Rijn was a Dutch draughtsman, painter, and printmaker." in card
    assert "listen" not in card and "ˈ" not in card and "(;" not in card
    assert "he is generally considered one of the greatest visual artists." in card  # the whole bio


def test_a_quiz_answer_gives_the_whole_bio_and_never_cuts_a_name_at_an_initial():
    from painting_classifier.app.cards import artist_line

    row = pd.Series({"name": "William Turner", "years": "1775 - 1851", "nationality": "British", "genre": "Romanticism",
                     "bio": "Joseph Mallord William Turner, known as J. M. W. Turner, was an English painter. He is "
                            "known for his expressive colourisations."})
    assert artist_line(row).endswith("known as J. M. W. Turner, was an English painter. He is known for his "
                                     "expressive colourisations.")


def test_a_weak_best_guess_is_called_unsure_and_a_strong_one_is_not():
    assert confidence_note([("Claude Monet", 0.12), ("Alfred Sisley", 0.10)], 50).startswith(
        "**Not sure — maybe none of these 50 artists.** The best guess, Claude Monet, gets only 12%.")
    assert confidence_note([("Claude Monet", 0.8), ("Alfred Sisley", 0.1)]) == "Most likely **Claude Monet** (80%)."
    assert "is close" in confidence_note([("Claude Monet", 0.5), ("Alfred Sisley", 0.3)])
