"""The Gradio app: the Blocks and their launch (``blocks``), one module per tab, the quiz, the classroom board,
artist cards, plots and served files. No TensorFlow; never imports ``training``."""
