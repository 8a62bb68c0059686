/*
 * app.js - the one script every page loads (as a module, from layout_bottom).
 * It does what NHS.UK frontend's inline snippet would do, which the strict
 * Content-Security-Policy forbids: mark the body as script-capable, so the
 * components' enhanced styles apply, then start every component on the page
 * (error summary focus, password show/hide, header menu, skip link ...),
 * and make the print buttons work.
 */
import { initAll } from '../nhsuk/nhsuk/nhsuk-frontend.min.js';

document.body.classList.add('js-enabled', 'nhsuk-frontend-supported');
initAll();

/* "Print this plan" and the like: buttons marked data-app-print are hidden
   until this script can make them work. */
for (const button of document.querySelectorAll('[data-app-print]')) {
  button.hidden = false;
  button.addEventListener('click', () => window.print());
}
