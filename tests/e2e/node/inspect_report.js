#!/usr/bin/env node
// Opens a watcher HTML report in headless Chromium and prints, as one JSON object, what the
// rendered page shows: used by tests/e2e/test_html_browser.py.
//
// usage: node inspect_report.js CHROMIUM_PATH REPORT.html
//
// Every request other than the report file itself is recorded and aborted, so a broken page
// can neither reach the network nor pass the test.
'use strict';

const { chromium } = require('playwright-core');
const { pathToFileURL } = require('url');

async function main() {
  const [executablePath, reportPath] = process.argv.slice(2);
  const pageUrl = pathToFileURL(reportPath).href;
  // launch() runs Chromium on a fresh, throwaway profile (its own --user-data-dir).
  const browser = await chromium.launch({
    executablePath,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
  try {
    const context = await browser.newContext({ javaScriptEnabled: true });
    const page = await context.newPage();
    const requests = [];
    const consoleMessages = [];
    await context.route('**/*', (route) => {
      const url = route.request().url();
      if (url === pageUrl) return route.continue();
      requests.push(url);
      return route.abort();
    });
    page.on('request', (request) => {
      const url = request.url();
      if (url !== pageUrl && !requests.includes(url)) requests.push(url);
    });
    page.on('console', (message) => consoleMessages.push(`${message.type()}: ${message.text()}`));
    await page.goto(pageUrl, { waitUntil: 'load' });

    const dom = await page.evaluate(() => {
      const findings = [...document.querySelectorAll('table#findings tbody tr.finding')].map(
        (row) => {
          const link = row.querySelector('a.goto');
          const href = link ? link.getAttribute('href') : null;
          const target = href && href.startsWith('#') ? document.getElementById(href.slice(1)) : null;
          const cells = row.querySelectorAll('td');
          return {
            rowId: row.id,
            rule: cells[1] ? cells[1].textContent.trim() : null,
            evidence: cells[4] ? cells[4].textContent.trim() : null,
            href,
            target: target && {
              tag: target.tagName.toLowerCase(),
              classes: [...target.classList],
              text: target.textContent,
              codeText: target.querySelector('td.code') ? target.querySelector('td.code').textContent : null,
              marks: target.querySelector('td.marks') ? target.querySelector('td.marks').textContent : null,
              insideOpenDetails: !target.closest('details') || target.closest('details').open,
            },
          };
        },
      );
      return {
        title: document.title,
        pwned: typeof window.__pwned !== 'undefined',
        scripts: document.querySelectorAll('script').length,
        images: document.querySelectorAll('img').length,
        csp: (document.querySelector('meta[http-equiv="Content-Security-Policy"]') || {}).content || null,
        findings,
        collapsedFiles: [...document.querySelectorAll('details.file')]
          .filter((d) => !d.open)
          .map((d) => d.querySelector('summary').textContent),
      };
    });

    // Follow each finding link as a reviewer would: the target must become :target.
    const followed = [];
    for (const finding of dom.findings) {
      await page.click(`#${finding.rowId} a.goto`);
      followed.push(await page.evaluate(() => {
        const target = document.querySelector(':target');
        return target ? target.id : null;
      }));
    }
    process.stdout.write(JSON.stringify({ ...dom, followed, requests, console: consoleMessages }));
  } finally {
    await browser.close();
  }
}

main().catch((error) => {
  process.stderr.write(`${error && error.stack ? error.stack : error}\n`);
  process.exit(1);
});
