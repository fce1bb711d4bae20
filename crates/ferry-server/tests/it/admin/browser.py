"""The web admin in headless Chromium, over WebDriver (selenium).

Run by browser.rs with: BASE FTP_PORT ADMIN PASSWORD SCREENSHOT_DIR.
Signs in, creates a user through the form (a wrong field first, whose
error must show beside it), sees that user's live FTP upload appear on
the dashboard without a reload, kicks it, lifts a ban, filters events,
and checks labels, keyboard focus and that no page broke its CSP.
Each step saves a screenshot. Exits non-zero (with the reason) on any
failure.
"""
import os
import subprocess
import sys
import tempfile
import time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

base, ftp_port, admin, password, shots = sys.argv[1:6]
os.makedirs(shots, exist_ok=True)

options = webdriver.ChromeOptions()
options.binary_location = "/usr/bin/chromium"
for arg in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--disable-dev-shm-usage", "--user-data-dir=" + tempfile.mkdtemp()]:
    options.add_argument(arg)
options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
driver.set_window_size(1280, 860)
driver.set_page_load_timeout(20)
wait = WebDriverWait(driver, 20)
children = []


def shot(name):
    driver.save_screenshot(os.path.join(shots, name + ".png"))


def check(cond, what):
    if not cond:
        shot("failure")
        raise AssertionError(what)


def labelled():
    """Every visible control has a label (or an aria-label)."""
    for e in driver.find_elements(By.CSS_SELECTOR, "input:not([type=hidden]), textarea, select, button"):
        ident = e.get_attribute("id")
        ok = e.get_attribute("aria-label") or (e.tag_name == "button" and e.text.strip())
        if not ok and ident:
            ok = driver.find_elements(By.CSS_SELECTOR, f'label[for="{ident}"]')
        check(ok, f"no label for {e.tag_name} {ident or e.get_attribute('name')} on {driver.current_url}")


def no_csp_errors():
    for entry in driver.get_log("browser"):
        check("Content Security Policy" not in entry["message"], "CSP violation: " + entry["message"])


def ftp(args, **kw):
    return subprocess.Popen(["curl", "-sS", "--max-time", "60"] + args, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, **kw)


try:
    # Sign in, with the keyboard only.
    driver.get(base + "/")
    wait.until(EC.url_to_be(base + "/login"))
    labelled()
    shot("signin")
    driver.find_element(By.ID, "name").send_keys(admin)
    driver.find_element(By.ID, "password").send_keys(password + Keys.ENTER)
    wait.until(EC.url_to_be(base + "/"))
    body = driver.find_element(By.TAG_NAME, "body")
    body.send_keys(Keys.TAB)
    check(driver.switch_to.active_element.text == "Skip to content", "the first Tab reaches the skip link")

    # Create a user through the form: a bad home first.
    driver.get(base + "/users/new")
    labelled()
    driver.find_element(By.ID, "f-name").send_keys("dave")
    driver.find_element(By.ID, "f-password").send_keys("dave-pw-1")
    driver.find_element(By.ID, "f-home").send_keys("../outside")
    driver.find_element(By.ID, "f-quota_bytes").send_keys("10M")
    driver.find_element(By.CSS_SELECTOR, "form.user button[type=submit]").click()
    error = wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, '[data-error-for="home"]')))
    check("root" in error.text, "the home error says what is wrong: " + error.text)
    check(driver.find_element(By.ID, "f-home").get_attribute("aria-invalid") == "true", "the field is marked invalid")
    check(driver.find_element(By.ID, "f-name").get_attribute("value") == "dave", "what was typed is kept")
    shot("user-form-error")
    home = driver.find_element(By.ID, "f-home")
    home.clear()
    home.send_keys("dave")
    driver.find_element(By.ID, "f-password").send_keys("dave-pw-1")
    driver.find_element(By.CSS_SELECTOR, "form.user button[type=submit]").click()
    wait.until(EC.url_contains("/users?done=created"))
    check(driver.find_elements(By.CSS_SELECTOR, 'tr[data-user="dave"]'), "dave is listed")
    driver.get(base + "/users?search=dav")
    check("Users 1–1 of 1" in driver.find_element(By.ID, "users-count").text, "search finds dave")
    labelled()
    shot("users")

    # A live upload of dave's appears on the dashboard without a reload.
    driver.get(base + "/")
    driver.execute_script("window.notReloaded = true;")
    src = os.path.join(tempfile.mkdtemp(), "big.bin")
    with open(src, "wb") as f:
        f.write(os.urandom(4 << 20))
    upload = ftp(["--limit-rate", "150k", "-u", "dave:dave-pw-1", "-T", src, f"ftp://127.0.0.1:{ftp_port}/big.bin"])
    children.append(upload)
    def dave_session(d):
        # The script re-renders the rows as bytes move: read them fresh.
        try:
            return [r.get_attribute("data-session") for r in d.find_elements(By.CSS_SELECTOR, "tr[data-session]")
                    if "dave" in r.text and "upload" in r.text and "/big.bin" in r.text]
        except StaleElementReferenceException:
            return []
    sid = wait.until(dave_session)[0]
    check(driver.execute_script("return window.notReloaded === true;"), "the dashboard updated in place")
    time.sleep(1.5)
    shot("dashboard")

    # Kick it.
    for _ in range(20):
        try:
            driver.find_element(By.CSS_SELECTOR, f'tr[data-session="{sid}"] button').click()
            break
        except StaleElementReferenceException:
            time.sleep(0.1)
    wait.until(EC.url_contains("done=kicked"))
    check(upload.wait(timeout=20) != 0, "curl's upload failed after the kick")
    wait.until(lambda d: not d.find_elements(By.CSS_SELECTOR, f'tr[data-session="{sid}"]'))
    shot("kicked")

    # A ban from three wrong FTP passwords, lifted from the bans page.
    for _ in range(3):
        ftp(["-u", "dave:wrong", "-l", f"ftp://127.0.0.1:{ftp_port}/"]).wait(timeout=30)
    driver.get(base + "/bans")
    check(driver.find_elements(By.CSS_SELECTOR, 'tr[data-ban="127.0.0.1"]'), "127.0.0.1 is banned")
    labelled()
    shot("bans")
    driver.find_element(By.CSS_SELECTOR, 'tr[data-ban="127.0.0.1"] button').click()
    wait.until(EC.url_contains("done=unbanned"))
    check(not driver.find_elements(By.CSS_SELECTOR, 'tr[data-ban="127.0.0.1"]'), "the ban is gone")

    # Events, filtered by user, with a live tail.
    driver.get(base + "/events?user=dave")
    rows = driver.find_elements(By.CSS_SELECTOR, "#events tbody tr")
    check(any("upload-failed" in r.text for r in rows), "dave's interrupted upload is listed")
    check(all("dave" in r.text for r in rows), "only dave's events")
    code = ftp(["-u", "dave:dave-pw-1", "-l", f"ftp://127.0.0.1:{ftp_port}/"]).wait(timeout=30)
    check(code == 0, "dave can log in again after the unban")
    # It arrives live (with its logout after it), without a reload.
    wait.until(lambda d: [r for r in d.find_elements(By.CSS_SELECTOR, "#events tbody tr.new")
                          if r.find_elements(By.TAG_NAME, "td")[1].text == "login"])
    labelled()
    shot("events")
    no_csp_errors()
    print("browser: all steps passed")
finally:
    for c in children:
        if c.poll() is None:
            c.kill()
    driver.quit()
