// The reader's selection (month, day, asset, date range) lives in the URL, so a link shows exactly what its
// sender saw, and it carries across pages: every internal link the reader follows gets the current selection
// appended (carryLinks, installed once by the layout), and the last selection of the tab is remembered in
// sessionStorage for links that cannot carry it (the browser's back button, a typed URL).
//
// Only values the page offers are ever used (Picker checks them against its options), so a hand-edited URL can
// never inject SQL into a page query.
import { browser } from '$app/environment';
import { Unset } from '@evidence-dev/sdk/usql';

export const PARAMS = ['month', 'day', 'asset', 'from', 'to'];
const STORE_KEY = 'flexpower.selection';

function stored() {
	try {
		return JSON.parse(sessionStorage.getItem(STORE_KEY) || '{}') || {};
	} catch {
		return {};
	}
}

/** The requested value of `name`: the URL's, else this tab's last one, else undefined. A month falls back to
 * the requested day's month; a URL that names a period (day or month) is never mixed with a remembered one. */
export function requested(name) {
	if (!browser) return undefined;
	const params = new URL(window.location.href).searchParams;
	if (params.has(name)) return params.get(name) ?? undefined;
	if (name === 'month' && params.get('day')) return params.get('day').slice(0, 7);
	if ((params.has('day') || params.has('month')) && ['day', 'month', 'from', 'to'].includes(name)) return undefined;
	return stored()[name] ?? undefined;
}

/** Write `values` ({name: value | '' | undefined}) into the URL (replacing the history entry) and the tab's
 * memory. An empty value removes the parameter. */
export function remember(values) {
	if (!browser) return;
	const url = new URL(window.location.href);
	const saved = stored();
	for (const [name, value] of Object.entries(values)) {
		if (value === undefined || value === null || value === '') {
			url.searchParams.delete(name);
			if (value === '') saved[name] = '';
		} else {
			url.searchParams.set(name, String(value));
			saved[name] = String(value);
		}
	}
	try {
		sessionStorage.setItem(STORE_KEY, JSON.stringify(saved));
	} catch {
		/* private mode: the URL still carries the selection */
	}
	if (url.href !== window.location.href) {
		window.history.replaceState(window.history.state, '', url.href);
	}
}

/** `href` with the current URL's selection added (parameters the link sets itself win). Only for pages of this
 * site: data files, PDFs and other origins are left alone. */
export function withSelection(href) {
	if (!browser || !href) return href;
	let target;
	try {
		target = new URL(href, window.location.href);
	} catch {
		return href;
	}
	if (target.origin !== window.location.origin) return href;
	const last = target.pathname.split('/').pop();
	if (last.includes('.') || target.pathname.startsWith('/data/') || target.pathname.startsWith('/_app/')) {
		return href; // a file (data, PDF, script), not a page
	}
	const current = new URL(window.location.href).searchParams;
	let changed = false;
	for (const name of PARAMS) {
		if (!target.searchParams.has(name) && current.get(name)) {
			// a link that names a day or an asset keeps its own month/range
			if (name === 'month' && target.searchParams.has('day')) continue;
			if ((name === 'from' || name === 'to') && (target.searchParams.has('day') || target.searchParams.has('month'))) {
				continue;
			}
			target.searchParams.set(name, current.get(name));
			changed = true;
		}
	}
	return changed ? target.pathname + target.search + target.hash : href;
}

/** Rewrite internal links when they are about to be followed (click, middle click, keyboard, hover for
 * "copy link"), so the next page opens with the same selection. Returns the uninstaller. */
export function carryLinks() {
	if (!browser) return () => {};
	const rewrite = (event) => {
		const a = event.target?.closest?.('a[href]');
		if (!a || a.hasAttribute('download')) return;
		const next = withSelection(a.getAttribute('href'));
		if (next !== a.getAttribute('href')) a.setAttribute('href', next);
	};
	const events = ['mousedown', 'click', 'auxclick', 'focusin', 'mouseover', 'touchstart'];
	for (const e of events) document.addEventListener(e, rewrite, true);
	return () => events.forEach((e) => document.removeEventListener(e, rewrite, true));
}

// A page variable that is not chosen yet (undefined) must not reach a query: sel() turns it into Evidence's "unset"
// marker, so the query waits instead of running with 'undefined' (and components showing "Dataset is empty").
// (its text differs from every real value, also from '' = "all": a query re-runs only when its text changes)
const UNSET = { [Unset]: true, toString: () => '(unset)' };
export const sel = (value) => (value === undefined || value === null ? UNSET : value);
