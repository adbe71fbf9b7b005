/**
 * The code step's one script, served from this app (`script-src 'self'`): it
 * counts the resend wait down and holds the button until it is over. Without
 * it the page says the same as text, and an early click is answered with the
 * wait; with it, the words tick. A screen reader hears only the end, through
 * the live region the element names.
 */
export const COUNTDOWN_SCRIPT_PATH = '/pages/countdown.js';

export const COUNTDOWN_SCRIPT = `"use strict";
(() => {
  for (const el of document.querySelectorAll("[data-countdown]")) {
    const total = Number(el.dataset.countdown);
    if (!(total > 0)) continue;
    const button = document.getElementById(el.dataset.button || "");
    const live = document.getElementById(el.dataset.live || "");
    const rules = new Intl.PluralRules(document.documentElement.lang || "en");
    const started = Date.now();
    if (button) button.disabled = true;
    const tick = () => {
      const left = Math.max(0, total - Math.floor((Date.now() - started) / 1000));
      if (left > 0) {
        el.textContent = rules.select(left) === "one"
          ? el.dataset.one
          : el.dataset.other.replace("{n}", String(left));
        return;
      }
      clearInterval(timer);
      el.textContent = el.dataset.done;
      if (button) button.disabled = false;
      if (live) live.textContent = el.dataset.done;
    };
    const timer = setInterval(tick, 250);
  }
})();
`;
