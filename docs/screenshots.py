"""The README's screenshots: ``python -m docs.screenshots`` starts ``app.py`` on the shipped model, identifies an
example painting in headless Chromium (Debian's) and saves the page at desktop (1280 px) and phone (390 px) width
as docs/screenshot-desktop.png and docs/screenshot-phone.png."""
from pathlib import Path

from PIL import Image

from benchmarks.common.app_client import start_app, wait_until_serving
from benchmarks.common.paths import ROOT

PAINTING = ROOT / "assets" / "examples" / "Vincent_van_Gogh_203.jpg"
SIZES = {"desktop": (1280, 1000), "phone": (390, 844)}


def main() -> None:
    from playwright.sync_api import sync_playwright

    server, url = start_app()
    try:
        wait_until_serving(url, server)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                        args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
            for name, (width, height) in SIZES.items():
                page = browser.new_page(viewport={"width": width, "height": height})
                page.goto(url)
                page.locator("input[type=file]").first.set_input_files(str(PAINTING))
                page.locator("#prediction .output-class").wait_for(timeout=60_000)
                page.locator("#gradcam img").wait_for(timeout=60_000)
                if name == "phone":
                    page.locator("#prediction").scroll_into_view_if_needed()
                path = Path(__file__).parent / f"screenshot-{name}.png"
                page.screenshot(path=str(path))
                Image.open(path).convert("RGB").quantize(256, dither=Image.Dither.NONE).save(path, optimize=True)
                page.close()
            browser.close()
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
