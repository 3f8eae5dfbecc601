"""Service A's web page in a real browser: Playwright driving Debian's Chromium
against the release binaries of the poller and api-a, a real `redis-server`, a fake exchange
whose price the tests set, and the repository's gateway (`gateway/nginx.conf`) on real nginx.

Run with `PYTHONPATH=tests python -m browser` (see `__main__`); `tests/suites/browser.sh`
installs Playwright, axe-core and Chromium first. Each module has one job:

- `service`: the system under test, its states brought about for real (an exchange outage, an
  emptied or killed Redis);
- `chromium`: Chromium launched by Playwright, and pages watched for script errors, CSP
  violations, navigations and the bytes they load;
- `reading`: what the page shows, read from its DOM, and where the chart should put a price;
- `axe`: axe-core run inside the page;
- `case`: the base of every test: the shared service and browser, and the screenshot folder;
- `test_*`: the checks, by subject.
"""
