"""The page of `simplepose serve` in a real browser: headless Chromium (Debian's `chromium`
and `chromium-driver`) driven by Selenium opens `/`, uploads a photo, waits for the drawing,
checks that people are listed and the canvas is not blank, and saves a screenshot.
"""

import shutil

import numpy as np
import pytest
from conftest import REAL_DATA
from test_serve import start_server

webdriver = pytest.importorskip("selenium.webdriver")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(
    not (CHROMIUM and CHROMEDRIVER), reason="no headless browser here: apt-get install chromium chromium-driver"
)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    s = start_server(tmp_path_factory.mktemp("serve-browser"))
    yield s
    s.proc.terminate()
    s.proc.wait(timeout=15)


@pytest.fixture
def browser():
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1400,1000",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield driver
    driver.quit()


def test_page_draws_the_people_of_a_photo(server, browser, synth_set, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    real = REAL_DATA / "coco" / "000000000785.jpg"
    photo = real if real.is_file() else sorted((synth_set.out / "images" / "val").glob("*.jpg"))[0]
    browser.get(server.url + "/")
    WebDriverWait(browser, 20).until(lambda d: d.find_element(By.ID, "status").text.startswith("ready"))
    browser.find_element(By.ID, "file").send_keys(str(photo))
    WebDriverWait(browser, 60).until(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-drawn"))
    people = browser.find_elements(By.CSS_SELECTOR, "#people li")
    assert len(people) >= 1 and "score" in people[0].text
    assert '"keypoints"' in browser.find_element(By.ID, "json").text
    # Not blank: the canvas holds the photo (many distinct colours) and the joints' colours.
    pixels = browser.execute_script(
        "const c = document.getElementById('canvas');"
        "return [c.width, c.height, Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data)];"
    )
    w, h, data = pixels
    rgba = np.asarray(data, np.uint8).reshape(h, w, 4)
    assert (w, h) != (640, 480) or photo.name != "000000000785.jpg"  # resized to the photo
    assert rgba[..., :3].std() > 10 and len(np.unique(rgba[..., 0])) > 50
    joint_colours = [(0xFF, 0x8F, 0x00), (0x1E, 0x88, 0xE5)]  # left, right: drawn over the photo
    assert any((rgba[..., :3] == c).all(axis=-1).sum() > 20 for c in joint_colours)
    shot = tmp_path / "page.png"
    browser.save_screenshot(str(shot))
    assert shot.stat().st_size > 10_000
    print(f"screenshot: {shot}")


def test_page_tracks_a_video_and_plays_it(server, browser, synth_set, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    video = sorted((synth_set.out / "videos").glob("*.mp4"))[0]
    browser.get(server.url + "/")
    WebDriverWait(browser, 20).until(lambda d: d.find_element(By.ID, "status").text.startswith("ready"))
    browser.find_element(By.ID, "videoFile").send_keys(str(video))
    WebDriverWait(browser, 90).until(
        lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-video-frame") == "5"
    )
    assert browser.find_element(By.ID, "videoStatus").text.startswith("done: 6/6 frames")
    assert browser.find_element(By.ID, "videoJson").get_attribute("href").startswith("blob:")
    assert browser.execute_script("return document.getElementById('videoFrame').naturalWidth") > 0
    shot = tmp_path / "video.png"
    browser.save_screenshot(str(shot))
    print(f"screenshot: {shot}")


def test_page_draws_a_sideways_phone_photo_upright(server, browser, synth_set, tmp_path):
    """A JPEG stored turned with EXIF orientation 6 (a phone's portrait photo): the browser shows
    it upright, and the page's canvas and the service's answer are in that same frame."""
    from PIL import Image
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    real = REAL_DATA / "coco" / "000000000785.jpg"
    upright = Image.open(real if real.is_file() else sorted((synth_set.out / "images" / "val").glob("*.jpg"))[0])
    stored = upright.convert("RGB").transpose(Image.Transpose.ROTATE_90)  # the pixels stored turned left
    exif = stored.getexif()
    exif[0x0112] = 6  # "turn right to view"
    photo = tmp_path / "phone.jpg"
    stored.save(photo, "JPEG", quality=95, exif=exif.tobytes())
    browser.get(server.url + "/")
    WebDriverWait(browser, 20).until(lambda d: d.find_element(By.ID, "status").text.startswith("ready"))
    browser.find_element(By.ID, "file").send_keys(str(photo))
    WebDriverWait(browser, 60).until(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-drawn"))
    canvas = browser.execute_script("const c = document.getElementById('canvas'); return [c.width, c.height];")
    answer = browser.find_element(By.ID, "json").text
    assert tuple(canvas) == upright.size
    assert f'"width": {upright.size[0]}' in answer and f'"height": {upright.size[1]}' in answer
    browser.save_screenshot(str(tmp_path / "phone.png"))
