// Patches applied to the pinned Evidence 40.1.8 packages after `npm ci` / `npm install` (the package's
// `postinstall` script runs this file). Each patch is idempotent, looks for an exact anchor in the
// pinned file and fails the install loudly when the anchor is missing (i.e. after a version bump that
// changed the file), so a patch can never silently stop applying. See docs/reports.md ("Offline").
//
//   node scripts/patch-evidence.mjs          apply (default)
//   node scripts/patch-evidence.mjs --check  exit 1 unless every patch is applied
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', 'node_modules');
const check = process.argv.includes('--check');
const MARK = '/* flexpower-patch */';

// 1. duckdb-wasm is pinned to 1.28.0 (DuckDB 0.9.1; >= 1.29 downloads its parquet extension from the
//    internet at run time and `npm run sources` hangs offline). Evidence's start-up SET statements name
//    settings that 0.9.1 does not know ("Catalog Error: unrecognized configuration parameter
//    ieee_floating_point_ops"): make them non-fatal, both in Node (sources, prerender) and the browser.
const setPatches = ['ieee_floating_point_ops = false', 'old_implicit_casting = true'].map((setting) => ({
	from: `await connection.query('SET ${setting};');`,
	// node-blocking throws synchronously, the browser client rejects: try/await covers both
	to: `try { await connection.query('SET ${setting};'); } catch (e) { /* not in DuckDB 0.9.1 */ } ${MARK}`
}));

// 2. Numbers as a German energy trader reads them: "1.234,56 EUR". Evidence formats numbers with SSF
//    (Excel format codes, US separators) or toLocaleString(undefined) (browser locale). Fix the fallback to
//    en-US, then swap the separators of every formatted number once, in the single formatting funnel
//    (values, tables, tooltips and chart axes all pass through applyFormatting).
const formatPatches = [
	{
		from: "		return typedValue.toLocaleString(undefined, {\n			minimumFractionDigits: 0,",
		to: `		return typedValue.toLocaleString('en-US', { ${MARK}\n			minimumFractionDigits: 0,`
	}
];
const applyFormattingPatch = [
	{
		from: '	if (result === undefined) {\n		result = fallbackFormat(value, columnUnitSummary);\n	}\n	return result;\n}',
		to:
			'	if (result === undefined) {\n		result = fallbackFormat(value, columnUnitSummary);\n	}\n' +
			`	${MARK} // de-DE separators for numbers (1.234,56)\n` +
			"	if (typeof result === 'string' && (typeof value === 'number' || (columnFormat?.valueType === 'number' && !isNaN(Number(value))))) {\n" +
			"		result = result.replace(/[.,]/g, (c) => (c === '.' ? ',' : '.'));\n" +
			'	}\n	return result;\n}'
	}
];

// 3. No "-0,000": a small negative value (solar night samples, float noise in a difference) rounds to zero
//    but SSF keeps its sign. Both public formatting entry points (values/tables and chart axes) strip the sign
//    of a formatted zero ("-0", "-0,00", "-0,000 MWh" -> "0...").
const negativeZeroPatch = [
	{
		from: 'export function fmt(value, format) {',
		to:
			`${MARK} // "-0,00" -> "0,00": a value that rounds to zero has no sign\n` +
			'function flexpowerNoNegativeZero(text) {\n' +
			"	return typeof text === 'string' && /^-0(?:,0+)?(?![,\\d])/.test(text) ? text.slice(1) : text;\n" +
			'}\n\nexport function fmt(value, format) {'
	},
	...['VALUE_FORMATTING_CONTEXT', 'AXIS_FORMATTING_CONTEXT'].map((context) => ({
		from: `		return applyFormatting(value, columnFormat, columnUnitSummary, ${context});`,
		to: `		return flexpowerNoNegativeZero(applyFormatting(value, columnFormat, columnUnitSummary, ${context})); ${MARK}`
	}))
];

const files = [
	['@evidence-dev/universal-sql/src/client-duckdb/node.js', setPatches],
	['@evidence-dev/universal-sql/src/client-duckdb/browser.js', setPatches],
	['@evidence-dev/component-utilities/src/autoFormatting.js', formatPatches],
	['@evidence-dev/component-utilities/src/formatting.js', [...applyFormattingPatch, ...negativeZeroPatch]]
];

let failed = false;
for (const [rel, patches] of files) {
	const file = join(root, rel);
	if (!existsSync(file)) {
		console.error(`[patch-evidence] missing ${rel} (is Evidence installed?)`);
		failed = true;
		continue;
	}
	let text = readFileSync(file, 'utf8');
	let changed = false;
	for (const { from, to } of patches) {
		if (text.includes(to)) continue;
		if (check || !text.includes(from)) {
			console.error(`[patch-evidence] ${check ? 'not applied' : 'anchor not found'} in ${rel}: ${from.split('\n')[0]}`);
			failed = true;
			continue;
		}
		text = text.replace(from, to);
		changed = true;
	}
	if (changed) {
		writeFileSync(file, text);
		console.log(`[patch-evidence] patched ${rel}`);
	}
}
if (failed) process.exit(1);
console.log(`[patch-evidence] ${check ? 'all patches present' : 'ok'}`);
