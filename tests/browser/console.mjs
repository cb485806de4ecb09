// The staff console in a real browser: Debian's chromium driven by playwright-core, at
// 1280×800 (the counter's desktop) and 390×844 (a phone), in zh-CN and English.
//
//   node tests/browser/console.mjs '<scenario JSON>'
//
// tests/api/browser.rs runs the demo data's app and calls this with:
//   { "chromium": "/usr/bin/chromium", "artifacts": "<dir>", "base": "http://127.0.0.1:PORT",
//     "front_desk": { "email": …, "password": … }, "manager": { "email": …, "password": … },
//     "query": "zsf", "client": "张三丰", "service": "<a catalog service's name>" }
//
// For each locale and viewport: the login page; a front desk logs in, sees Today, opens
// Clients, types the query key by key (each keystroke's search round trip is measured from
// htmx's request to the swap of its results), goes down to the client with ↓ and opens them
// with Enter, checks that no "show sensitive fields" action is offered, records a visit with a
// catalog service, and sees it on the timeline (one more visit than before); the new-client
// form and its errors; then a store manager opens the same client and shows the sensitive
// fields (the section swapped in by htmx). axe-core runs on every screen: any serious or
// critical violation fails. Also fails on a page error, a CSP violation, or a request to
// another origin. Screenshots of every screen and report.json (axe's results and the timings)
// go to "artifacts". Exit 2: bad arguments or the browser would not start.

import { chromium } from 'playwright-core';
import { readFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);
const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const FAILING_IMPACTS = new Set(['serious', 'critical']);
const STEP_TIMEOUT_MS = 15_000;
const VIEWPORTS = [
  { name: 'desktop', options: { viewport: { width: 1280, height: 800 } } },
  {
    name: 'phone',
    options: { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true },
  },
];
const LOCALES = [
  { tag: 'zh-CN', lang: 'zh-CN', today: '今日', record: '登记消费', visitDone: '消费已登记', newClient: '新建客户' },
  { tag: 'en-US', lang: 'en', today: 'Today', record: 'Record a visit', visitDone: 'Visit recorded', newClient: 'New client' },
];

let scenario;
try {
  scenario = JSON.parse(process.argv[2] ?? '');
} catch (error) {
  console.error(`console.mjs: the argument is not JSON (${error.message})`);
  process.exit(2);
}
mkdirSync(scenario.artifacts, { recursive: true });
const failures = [];
const report = { pages: [], search: [] };

function fail(message) {
  failures.push(message);
  console.log(`  FAIL ${message}`);
}
function check(condition, message) {
  if (!condition) fail(message);
  return condition;
}

async function newPage(browser, label, options) {
  const context = await browser.newContext(options);
  context.setDefaultTimeout(STEP_TIMEOUT_MS);
  const page = await context.newPage();
  const origin = new URL(scenario.base).origin;
  page.on('pageerror', (error) => fail(`${label}: page error: ${error.message}`));
  page.on('console', (message) => {
    const text = message.text();
    if (/Content.Security.Policy|Refused to/i.test(text)) fail(`${label}: CSP violation: ${text}`);
  });
  page.on('request', (request) => {
    if (new URL(request.url()).origin !== origin) fail(`${label}: a request to another origin: ${request.url()}`);
  });
  return { context, page };
}

async function axe(page, name) {
  await page.evaluate(AXE_SOURCE);
  const results = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const r = await window.axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.map((n) => ({ target: n.target, html: n.html, summary: n.failureSummary })),
    }));
  });
  const failing = results.filter((v) => FAILING_IMPACTS.has(v.impact));
  console.log(`  axe ${name}: ${results.length} violation(s), ${failing.length} serious or critical`);
  for (const v of results) {
    console.log(`    [${v.impact}] ${v.id}: ${v.help}`);
    for (const n of v.nodes) console.log(`      ${n.target.join(' ')}  ${n.html}\n        ${(n.summary || '').replace(/\n/g, ' ')}`);
  }
  for (const v of failing) fail(`${name}: axe ${v.impact} ${v.id} (${v.help})`);
  report.pages.push({ page: name, url: page.url(), violations: results });
}

async function shot(page, name) {
  const file = path.join(scenario.artifacts, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  console.log(`  screenshot ${file}`);
}

async function screen(page, name) {
  await shot(page, name);
  await axe(page, name);
}

async function logIn(page, who) {
  await page.goto(`${scenario.base}/app/login`);
  await page.fill('#f-email', who.email);
  await page.fill('#f-password', who.password);
  await Promise.all([page.waitForURL(/\/app\/$/), page.click('button[type="submit"]')]);
}

/** Types the query key by key, timing each search round trip htmx makes. */
async function typeAndTime(page, query) {
  await page.evaluate(() => {
    window.__searches = [];
    let started = 0;
    document.body.addEventListener('htmx:beforeRequest', () => {
      started = performance.now();
    });
    document.body.addEventListener('htmx:afterSwap', (event) => {
      if (event.detail.target && event.detail.target.id === 'results') {
        window.__searches.push(performance.now() - started);
      }
    });
  });
  const box = page.locator('#q');
  await box.click();
  for (const key of query) {
    const before = await page.evaluate(() => window.__searches.length);
    await page.keyboard.type(key);
    await page.waitForFunction((n) => window.__searches.length > n, before);
  }
  return page.evaluate(() => window.__searches);
}

async function run() {
  let browser;
  try {
    browser = await chromium.launch({ executablePath: scenario.chromium, args: ['--no-sandbox'] });
  } catch (error) {
    console.error(`console.mjs: the browser did not start: ${error.message}`);
    process.exit(2);
  }
  for (const locale of LOCALES) {
    for (const viewport of VIEWPORTS) {
      const tag = `${locale.lang}-${viewport.name}`;
      console.log(`\n== ${tag}`);
      const { context, page } = await newPage(browser, tag, { ...viewport.options, locale: locale.tag });
      try {
        await page.goto(`${scenario.base}/`);
        check(page.url().endsWith('/app/login'), `${tag}: / led to ${page.url()}`);
        check((await page.locator('html').getAttribute('lang')) === locale.lang, `${tag}: login page language`);
        await screen(page, `${tag}-01-login`);
        await logIn(page, scenario.front_desk);
        check((await page.locator('h1').innerText()).includes(locale.today), `${tag}: Today's heading`);
        await screen(page, `${tag}-02-today`);

        await Promise.all([page.waitForURL(/\/app\/clients$/), page.locator('nav a[href="/app/clients"]').click()]);
        await screen(page, `${tag}-03-clients`);
        const times = await typeAndTime(page, scenario.query);
        report.search.push({ run: tag, round_trips_ms: times.map((t) => Math.round(t * 10) / 10) });
        console.log(`  search round trips (ms): ${times.map((t) => t.toFixed(1)).join(', ')}`);
        await page.locator('#results a.result', { hasText: scenario.client }).first().waitFor();
        await screen(page, `${tag}-04-search`);
        // Keyboard only: ↓ into the results, Enter opens the first.
        await page.keyboard.press('ArrowDown');
        const focused = await page.evaluate(() => document.activeElement && document.activeElement.textContent);
        check(focused && focused.includes(scenario.client), `${tag}: ↓ did not reach ${scenario.client} (${focused})`);
        await Promise.all([page.waitForURL(/\/app\/clients\/[0-9a-f-]+$/), page.keyboard.press('Enter')]);
        check((await page.locator('h1').innerText()).includes(scenario.client), `${tag}: the client's page`);
        check((await page.locator('#show-sensitive').count()) === 0, `${tag}: the front desk is offered the sensitive fields`);
        const visitsBefore = await page.locator('.timeline .event.visit').count();
        await screen(page, `${tag}-05-client`);

        await Promise.all([page.waitForURL(/\/app\/visits\/new/), page.locator('.actions a.primary').click()]);
        await screen(page, `${tag}-06-visit-form`);
        const service = await page.locator('#f-service-0 option', { hasText: scenario.service }).first().getAttribute('value');
        await page.selectOption('#f-service-0', service);
        await page.locator('input[name="payment_method"][value="cash"]').check();
        await Promise.all([page.waitForURL(/\/app\/clients\/[0-9a-f-]+$/), page.click('#record-visit')]);
        const flash = await page.locator('.flash').innerText();
        check(flash.includes(locale.visitDone), `${tag}: no confirmation (${flash})`);
        const visitsAfter = await page.locator('.timeline .event.visit').count();
        check(visitsAfter === visitsBefore + 1, `${tag}: timeline visits ${visitsBefore} → ${visitsAfter}`);
        const newest = await page.locator('.timeline .event.visit').first().innerText();
        check(newest.includes(scenario.service), `${tag}: the newest visit is not the one recorded: ${newest}`);
        await screen(page, `${tag}-07-visit-recorded`);

        await page.goto(`${scenario.base}/app/clients/new`);
        await screen(page, `${tag}-08-new-client`);
        await page.fill('#f-name', '');
        await page.fill('#f-phone', '12');
        await page.click('form.form-grid button[type="submit"]');
        await page.locator('.form-errors').waitFor();
        await screen(page, `${tag}-09-new-client-errors`);

        await page.goto(`${scenario.base}/app/visits/new`);
        await screen(page, `${tag}-10-visit-pick-client`);
        await page.locator('form[action="/app/logout"] button').click();
        await page.waitForURL(/\/app\/login$/);

        // A store manager may see the sensitive fields: the action swaps them in.
        await logIn(page, scenario.manager);
        await page.goto(`${scenario.base}/app/clients?q=${encodeURIComponent(scenario.query)}`);
        await Promise.all([
          page.waitForURL(/\/app\/clients\/[0-9a-f-]+$/),
          page.locator('#results a.result', { hasText: scenario.client }).first().click(),
        ]);
        await page.click('#show-sensitive');
        await page.locator('#sensitive dl').waitFor();
        await screen(page, `${tag}-11-sensitive-shown`);
        await page.locator('form[action="/app/logout"] button').click();
        await page.waitForURL(/\/app\/login$/);
        await page.goto(`${scenario.base}/app/signup`);
        await screen(page, `${tag}-12-signup`);
      } catch (error) {
        fail(`${tag}: ${error.message.split('\n')[0]}`);
        await shot(page, `${tag}-failed`).catch(() => {});
      }
      await context.close();
    }
  }
  await browser.close();
  const all = report.search.flatMap((s) => s.round_trips_ms).sort((a, b) => a - b);
  report.search_summary = {
    keystrokes: all.length,
    median_ms: all[Math.floor(all.length / 2)],
    max_ms: all[all.length - 1],
    first_keystroke_ms: report.search.map((s) => s.round_trips_ms[0]),
  };
  console.log(`\nsearch round trip: ${JSON.stringify(report.search_summary)}`);
  writeFileSync(path.join(scenario.artifacts, 'report.json'), JSON.stringify(report, null, 2));
  if (failures.length) {
    console.log(`\nFAILED: ${failures.length} problem(s)\n${failures.join('\n')}`);
    process.exit(1);
  }
  console.log('\nall console checks passed');
}

run();
