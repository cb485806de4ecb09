// The clients' public pages in a real browser, as a phone shows them: Debian's chromium
// driven by playwright-core at 390×844 with touch, the survey answered by tapping, the
// unsubscribe button tapped, and every page checked with axe-core.
//
//   node tests/browser/pages.mjs '<scenario JSON>'
//
// tests/api/browser.rs sets the scenario up through the real binaries and runs this with:
//   {
//     "chromium": "/usr/bin/chromium",
//     "artifacts": "<dir for screenshots and the axe report>",
//     "surveys": [{ "locale": "zh-CN", "url": "http://127.0.0.1:PORT/s/TOKEN",
//                   "answers": { "service": "2", …, "nps": "3" }, "comment": "…",
//                   "thanks": "<text the thank-you page shows>" }, …],
//     "unsubscribes": [{ "locale": "en", "url": "http://127.0.0.1:PORT/u/TOKEN",
//                        "done": "<text the page shows once unsubscribed>" }, …],
//     "keyboard_surveys": [{ "locale": "en", "url": …, "answers": {…}, "thanks": "…",
//                            "error": "<text of the error shown for an empty form>" }, …],
//     "unknown_links": [{ "locale": "zh-CN", "url": "http://127.0.0.1:PORT/s/NO-SUCH-TOKEN",
//                         "status": 404, "text": "<what the page says>" }, …]
//   }
//
// For each survey: open it, check it with axe, tap one choice in every radio group (the
// label, as a finger does), tap the comment box and type, tap the submit button, check the
// thank-you page, check it with axe. For each unsubscribe link: open it, axe, tap the button,
// check the confirmation, axe. For each keyboard survey (a desktop browser, no mouse or touch):
// Tab to the button and press Enter on the empty form (axe on the error page, 422), then Tab
// through the form answering each radio group with Space and the arrow keys, type the comment,
// and submit with Enter. For each unknown link: open it, axe. Fails (exit 1) on any axe violation of impact serious or
// critical, a step that does not work, a tap target under 44×44 CSS px, a page error or a
// Content-Security-Policy violation; prints every axe violation, whatever its impact. Writes
// a full-page screenshot of every page and report.json (all axe results) to "artifacts".
//
// axe is injected with page.evaluate (a DevTools-protocol evaluation, which the page's CSP
// `default-src 'none'` does not govern), so the context keeps the page's real CSP in force:
// no `bypassCSP`, and a CSP violation by the page itself is caught. Exit 2: bad arguments or
// the browser would not start.

import { chromium } from 'playwright-core';
import { readFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);
const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const AXE_VERSION = require('axe-core/package.json').version;
const PLAYWRIGHT_VERSION = require('playwright-core/package.json').version;

/** The impacts that fail the test; moderate and minor ones are printed only. */
const FAILING_IMPACTS = new Set(['serious', 'critical']);
/** The smallest tap target we accept (WCAG 2.5.5's 44×44 CSS px; the pages aim for 48). */
const MIN_TARGET = 44;
const PHONE = {
  viewport: { width: 390, height: 844 },
  deviceScaleFactor: 2,
  isMobile: true,
  hasTouch: true,
  userAgent:
    'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1',
};
const STEP_TIMEOUT_MS = 15_000;

function usage(message) {
  console.error(`pages.mjs: ${message}\nusage: node tests/browser/pages.mjs '<scenario JSON>'`);
  process.exit(2);
}

let scenario;
try {
  scenario = JSON.parse(process.argv[2] ?? '');
} catch (error) {
  usage(`the argument is not JSON (${error.message})`);
}
for (const key of ['chromium', 'artifacts', 'surveys', 'unsubscribes', 'keyboard_surveys', 'unknown_links']) {
  if (!(key in scenario)) usage(`the scenario lacks "${key}"`);
}
mkdirSync(scenario.artifacts, { recursive: true });

/** Everything that went wrong, printed together at the end. */
const failures = [];
/** Per page: its axe violations and counts, for report.json. */
const report = { axe: AXE_VERSION, playwright: PLAYWRIGHT_VERSION, pages: [] };

function fail(message) {
  failures.push(message);
  console.log(`  FAIL ${message}`);
}

function check(condition, message) {
  if (!condition) fail(message);
  return condition;
}

/** A new phone-sized browser context and page that records page errors and CSP violations. */
async function phonePage(browser, label, options = { ...PHONE, locale: 'en-US' }) {
  const context = await browser.newContext(options);
  context.setDefaultTimeout(STEP_TIMEOUT_MS);
  const page = await context.newPage();
  page.on('pageerror', (error) => fail(`${label}: page error: ${error.message}`));
  page.on('console', (message) => {
    const text = message.text();
    if (/Content.Security.Policy|Refused to/i.test(text)) fail(`${label}: CSP violation: ${text}`);
    // A failed load shows up here too; the 'response' handler below tells which URL.
    else if (message.type() === 'error' && !text.startsWith('Failed to load resource')) {
      fail(`${label}: console error: ${text}`);
    }
  });
  // The pages load nothing but themselves (inline styles, no images or scripts). The browser
  // asks for /favicon.ico on its own, which the app need not have.
  page.on('response', (response) => {
    const request = response.request();
    if (request.isNavigationRequest() || new URL(response.url()).pathname === '/favicon.ico') return;
    fail(`${label}: the page loaded ${request.method()} ${response.url()} (${response.status()})`);
  });
  return { context, page };
}

/** Runs axe-core on the page; prints every violation, fails on serious and critical ones. */
async function axe(page, name) {
  await page.evaluate(AXE_SOURCE);
  const results = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const r = await window.axe.run(document, { resultTypes: ['violations', 'incomplete'] });
    const strip = (items) =>
      items.map((v) => ({
        id: v.id,
        impact: v.impact,
        help: v.help,
        helpUrl: v.helpUrl,
        tags: v.tags,
        nodes: v.nodes.map((n) => ({
          target: n.target,
          html: n.html,
          impact: n.impact,
          summary: n.failureSummary,
        })),
      }));
    return { violations: strip(r.violations), incomplete: strip(r.incomplete), passes: r.passes.length };
  });
  const failing = results.violations.filter((v) => FAILING_IMPACTS.has(v.impact));
  console.log(
    `  axe ${name}: ${results.violations.length} violation(s), ${failing.length} serious or critical; ` +
      `${results.passes} rule(s) passed, ${results.incomplete.length} need review`,
  );
  for (const v of results.violations) {
    console.log(`    [${v.impact}] ${v.id}: ${v.help} (${v.helpUrl})`);
    for (const n of v.nodes) {
      console.log(`      ${n.target.join(' ')}  ${n.html}`);
      if (n.summary) console.log(`        ${n.summary.replace(/\n/g, '\n        ')}`);
    }
  }
  for (const v of results.incomplete) {
    console.log(`    (needs review) ${v.id}: ${v.help} on ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  }
  for (const v of failing) {
    fail(`${name}: axe ${v.impact} violation ${v.id} (${v.help}) on ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  }
  report.pages.push({ page: name, url: page.url(), ...results });
}

async function screenshot(page, name) {
  const file = path.join(scenario.artifacts, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  console.log(`  screenshot ${file}`);
}

async function expectPage(page, response, name, { status, lang, text }) {
  check(response !== null, `${name}: no response`);
  if (response) check(response.status() === status, `${name}: status ${response.status()}, expected ${status}`);
  const htmlLang = await page.locator('html').getAttribute('lang');
  check(htmlLang === lang, `${name}: <html lang="${htmlLang}">, expected "${lang}"`);
  if (text) {
    const body = await page.locator('body').innerText();
    check(body.includes(text), `${name}: "${text}" not on the page:\n${body}`);
  }
}

/** The label that holds or names a radio input: what a finger taps. */
async function labelOf(page, name, value) {
  const input = page.locator(`input[type="radio"][name="${name}"][value="${value}"]`);
  if ((await input.count()) !== 1) throw new Error(`no single radio ${name}=${value}`);
  const id = await input.getAttribute('id');
  const byFor = id ? page.locator(`label[for="${id}"]`) : null;
  const label = byFor && (await byFor.count()) === 1 ? byFor : page.locator('label').filter({ has: input });
  if ((await label.count()) !== 1) throw new Error(`radio ${name}=${value} has no label to tap`);
  return { input, label };
}

async function checkTarget(locator, what) {
  const box = await locator.boundingBox();
  if (check(box !== null, `${what}: not visible`)) {
    check(
      box.width >= MIN_TARGET && box.height >= MIN_TARGET,
      `${what}: tap target ${Math.round(box.width)}×${Math.round(box.height)} CSS px, under ${MIN_TARGET}×${MIN_TARGET}`,
    );
  }
}

/** Taps `locator` and waits for the page it leads to; returns that page's response. */
async function tapAndNavigate(page, locator, name) {
  const [response] = await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), locator.tap()]);
  if (response) {
    // What the server's same-origin check sees (printed: a refused post is explained here).
    const headers = await response.request().allHeaders();
    console.log(
      `  ${response.request().method()} ${new URL(response.url()).pathname.replace(/[^/]+$/, 'TOKEN')} → ${response.status()} ` +
        `(sent Origin: ${headers.origin ?? '(none)'}, Sec-Fetch-Site: ${headers['sec-fetch-site'] ?? '(none)'}, ` +
        `Referer: ${headers.referer ?? '(none)'})`,
    );
    if (response.status() === 403) {
      fail(
        `${name}: the server refused the browser's own form post (Origin: ${headers.origin ?? '(none)'}, ` +
          `Sec-Fetch-Site: ${headers['sec-fetch-site'] ?? '(none)'})`,
      );
    }
    if (response.request().method() === 'POST') {
      // Our pages send "Referrer-Policy: same-origin", so the browser names our origin.
      check(headers.origin === new URL(response.url()).origin, `${name}: the form post's Origin is ${headers.origin}`);
    }
  }
  return response;
}

async function survey(browser, s) {
  const name = `survey-${s.locale}`;
  console.log(`\n${name}: ${s.url}`);
  const { context, page } = await phonePage(browser, name);
  try {
    const opened = await page.goto(s.url, { waitUntil: 'load' });
    await expectPage(page, opened, name, { status: 200, lang: s.locale });
    await screenshot(page, name);
    await axe(page, name);

    // Every radio group on the page gets an answer: the scenario must cover them all.
    const groups = await page
      .locator('input[type="radio"]')
      .evaluateAll((inputs) => [...new Set(inputs.map((i) => i.name))]);
    check(groups.length > 0, `${name}: no radio groups on the page`);
    for (const group of groups) {
      check(group in s.answers, `${name}: the scenario has no answer for the group "${group}"`);
    }
    for (const [group, value] of Object.entries(s.answers)) {
      const { input, label } = await labelOf(page, group, value);
      await checkTarget(label, `${name}: ${group}=${value}`);
      await label.tap();
      check(await input.isChecked(), `${name}: tapping the label of ${group}=${value} did not select it`);
    }
    if (s.comment) {
      const box = page.locator('textarea[name="comment"]');
      await box.tap();
      check(
        await box.evaluate((el) => el === document.activeElement),
        `${name}: tapping the comment box did not focus it`,
      );
      await page.keyboard.type(s.comment);
      check((await box.inputValue()) === s.comment, `${name}: the comment box holds "${await box.inputValue()}"`);
    }
    await screenshot(page, `${name}-answered`);

    const submit = page.locator('form button[type="submit"], form input[type="submit"]');
    if ((await submit.count()) !== 1) throw new Error('no single submit button in the form');
    await checkTarget(submit, `${name}: submit button`);
    const thanks = await tapAndNavigate(page, submit, name);
    const thanksName = `thanks-${s.locale}`;
    check(thanks?.request().method() === 'POST', `${thanksName}: the button did not post the form`);
    await expectPage(page, thanks, thanksName, { status: 200, lang: s.locale, text: s.thanks });
    check((await page.locator('form').count()) === 0, `${thanksName}: still shows a form`);
    await screenshot(page, thanksName);
    await axe(page, thanksName);
  } catch (error) {
    fail(`${name}: ${error.message}`);
    await page.screenshot({ path: path.join(scenario.artifacts, `${name}-failed.png`), fullPage: true }).catch(() => {});
  } finally {
    await context.close();
  }
}

async function unsubscribe(browser, u) {
  const name = `unsubscribe-${u.locale}`;
  console.log(`\n${name}: ${u.url}`);
  const { context, page } = await phonePage(browser, name);
  try {
    const opened = await page.goto(u.url, { waitUntil: 'load' });
    await expectPage(page, opened, name, { status: 200, lang: u.locale });
    await screenshot(page, name);
    await axe(page, name);

    const button = page.locator('form button[type="submit"], form input[type="submit"]');
    if ((await button.count()) !== 1) throw new Error('no single confirmation button');
    await checkTarget(button, `${name}: confirmation button`);
    const done = await tapAndNavigate(page, button, name);
    const doneName = `unsubscribed-${u.locale}`;
    check(done?.request().method() === 'POST', `${doneName}: the button did not post the form`);
    await expectPage(page, done, doneName, { status: 200, lang: u.locale, text: u.done });
    check((await page.locator('form').count()) === 0, `${doneName}: still shows a form`);
    await screenshot(page, doneName);
    await axe(page, doneName);
  } catch (error) {
    fail(`${name}: ${error.message}`);
    await page.screenshot({ path: path.join(scenario.artifacts, `${name}-failed.png`), fullPage: true }).catch(() => {});
  } finally {
    await context.close();
  }
}

/** Presses Tab until the focused element matches `predicate` (at most `limit` times). */
async function tabTo(page, predicate, what, limit = 80) {
  for (let i = 0; i < limit; i++) {
    await page.keyboard.press('Tab');
    const focused = await page.evaluate(() => {
      const el = document.activeElement;
      return el ? { tag: el.tagName, type: el.type ?? null, name: el.name ?? null, value: el.value ?? null } : null;
    });
    if (focused && predicate(focused)) return focused;
  }
  throw new Error(`${what}: not reached with Tab`);
}

async function keyboardSurvey(browser, s) {
  const name = `keyboard-survey-${s.locale}`;
  console.log(`\n${name}: ${s.url}`);
  // A desktop window, no touch: everything below is done with the keyboard alone.
  const { context, page } = await phonePage(browser, name, { viewport: { width: 1024, height: 800 }, locale: 'en-US' });
  const isSubmit = (el) => el.tag === 'BUTTON' && el.type === 'submit';
  try {
    const opened = await page.goto(s.url, { waitUntil: 'load' });
    await expectPage(page, opened, name, { status: 200, lang: s.locale });

    // Sent empty: the form again with the error, status 422.
    await tabTo(page, isSubmit, `${name}: the submit button`);
    const [invalid] = await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.keyboard.press('Enter')]);
    const errorName = `survey-error-${s.locale}`;
    await expectPage(page, invalid, errorName, { status: 422, lang: s.locale, text: s.error });
    await screenshot(page, errorName);
    await axe(page, errorName);

    // Each radio group: Tab lands on it, Space picks its first choice, the arrow keys move on.
    const groups = await page
      .locator('input[type="radio"]')
      .evaluateAll((inputs) => [...new Set(inputs.map((i) => i.name))]);
    for (const group of groups) {
      check(group in s.answers, `${name}: the scenario has no answer for the group "${group}"`);
    }
    // Focus starts again at the top of the re-shown page.
    await page.evaluate(() => document.activeElement?.blur());
    for (const group of groups) {
      const values = await page
        .locator(`input[type="radio"][name="${group}"]`)
        .evaluateAll((inputs) => inputs.map((i) => i.value));
      const index = values.indexOf(s.answers[group]);
      if (index < 0) throw new Error(`${name}: ${group} has no choice ${s.answers[group]}`);
      await tabTo(page, (el) => el.type === 'radio' && el.name === group, `${name}: the group ${group}`);
      await page.keyboard.press('Space');
      for (let i = 0; i < index; i++) await page.keyboard.press('ArrowRight');
      const checked = await page.locator(`input[type="radio"][name="${group}"]:checked`).getAttribute('value');
      check(checked === s.answers[group], `${name}: the keyboard chose ${group}=${checked}, not ${s.answers[group]}`);
    }
    if (s.comment) {
      await tabTo(page, (el) => el.tag === 'TEXTAREA', `${name}: the comment box`);
      await page.keyboard.type(s.comment);
    }
    await tabTo(page, isSubmit, `${name}: the submit button`);
    const [thanks] = await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.keyboard.press('Enter')]);
    await expectPage(page, thanks, `${name}-thanks`, { status: 200, lang: s.locale, text: s.thanks });
    await screenshot(page, `${name}-thanks`);
  } catch (error) {
    fail(`${name}: ${error.message}`);
    await page.screenshot({ path: path.join(scenario.artifacts, `${name}-failed.png`), fullPage: true }).catch(() => {});
  } finally {
    await context.close();
  }
}

/** A link that leads nowhere (unknown or expired): the friendly page, in the browser's language. */
async function unknownLink(browser, u) {
  const name = `unknown-link-${u.locale}`;
  console.log(`\n${name}: ${u.url}`);
  const { context, page } = await phonePage(browser, name, { ...PHONE, locale: u.locale });
  try {
    const opened = await page.goto(u.url, { waitUntil: 'load' });
    await expectPage(page, opened, name, { status: u.status, lang: u.locale, text: u.text });
    await screenshot(page, name);
    await axe(page, name);
  } catch (error) {
    fail(`${name}: ${error.message}`);
  } finally {
    await context.close();
  }
}

let browser;
try {
  browser = await chromium.launch({
    executablePath: scenario.chromium,
    headless: true,
    chromiumSandbox: false,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-quic',
      '--no-first-run',
    ],
  });
} catch (error) {
  console.error(`pages.mjs: chromium ${scenario.chromium} would not start: ${error.message}`);
  process.exit(2);
}
console.log(`chromium ${browser.version()}, playwright-core ${PLAYWRIGHT_VERSION}, axe-core ${AXE_VERSION}`);
try {
  for (const s of scenario.surveys) await survey(browser, s);
  for (const u of scenario.unsubscribes) await unsubscribe(browser, u);
  for (const s of scenario.keyboard_surveys) await keyboardSurvey(browser, s);
  for (const u of scenario.unknown_links) await unknownLink(browser, u);
} finally {
  await browser.close();
}

const reportFile = path.join(scenario.artifacts, 'report.json');
writeFileSync(reportFile, JSON.stringify({ ...report, failures }, null, 2));
console.log(`\naxe report: ${reportFile}`);
if (failures.length > 0) {
  console.log(`\nFAILED: ${failures.length} problem(s):`);
  for (const f of failures) console.log(`  - ${f}`);
  process.exit(1);
}
console.log(`\nOK: ${scenario.surveys.length} survey(s) answered by tapping and ${scenario.unsubscribes.length} unsubscribe page(s); ` +
  `${report.pages.length} page(s) checked by axe, none with serious or critical violations`);
