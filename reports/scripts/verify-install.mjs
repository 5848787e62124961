// Verifies that reports/node_modules holds exactly what package-lock.json pins (run by scripts/install.sh).
//
// * every package npm installed (node_modules/.package-lock.json) has, on disk, the version the lock pins;
// * every non-optional package of the lock is installed;
// * a package the lock does not list is allowed only if it is an optional, platform-specific package
//   (e.g. @rollup/rollup-linux-x64-gnu when the lock was written where the registry did not serve it) and
//   its version is the exact one its parent asks for in the lock;
// * the packages the site depends on are present at their pinned versions (KEY_PACKAGES), and
//   duckdb-wasm is 1.28.0 (newer versions download an extension at run time; docs/reports.md).
//
//   node scripts/verify-install.mjs [project dir]    exit 1 with one line per problem
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.argv[2] || '.';
const read = (p) => JSON.parse(readFileSync(join(dir, p), 'utf8'));
const lock = read('package-lock.json').packages;
const hidden = join(dir, 'node_modules', '.package-lock.json');
if (!existsSync(hidden)) {
	console.error('[verify-install] node_modules/.package-lock.json missing: run scripts/install.sh');
	process.exit(1);
}
const installed = read('node_modules/.package-lock.json').packages;
const onDisk = (path) => {
	const file = join(dir, path, 'package.json');
	return existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')).version : null;
};
const nameOf = (path) => path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length);

const problems = [];
const resolvedHere = [];
for (const [path, meta] of Object.entries(installed)) {
	if (!path.startsWith('node_modules/')) continue;
	const have = onDisk(path);
	if (have === null) {
		if (!meta.optional) problems.push(`${nameOf(path)}: recorded as installed but not on disk`);
		continue;
	}
	const pinned = lock[path];
	if (pinned) {
		if (pinned.version !== have) problems.push(`${nameOf(path)}: ${have} installed, the lock pins ${pinned.version}`);
		continue;
	}
	const name = nameOf(path);
	const wanted = Object.values(lock)
		.map((p) => p.optionalDependencies?.[name])
		.filter((v) => v !== undefined);
	if (!meta.optional || !(meta.os || meta.cpu)) {
		problems.push(`${name}@${have}: installed but not in package-lock.json`);
	} else if (!wanted.includes(have)) {
		problems.push(`${name}@${have}: platform package not in the lock, and its parent asks for ${wanted.join(' or ') || 'nothing'}`);
	} else {
		resolvedHere.push(`${name}@${have}`);
	}
}
for (const [path, meta] of Object.entries(lock)) {
	if (!path.startsWith('node_modules/') || meta.optional || meta.dev) continue;
	if (onDisk(path) === null) problems.push(`${nameOf(path)}@${meta.version}: pinned in the lock but not installed`);
}

const platformBinding = `@duckdb/node-bindings-${process.platform}-${process.arch}`;
const KEY_PACKAGES = {
	'@evidence-dev/evidence': null,
	'@evidence-dev/duckdb': null,
	'@evidence-dev/core-components': null,
	'@duckdb/duckdb-wasm': '1.28.0',
	'@duckdb/node-api': null,
	'@duckdb/node-bindings': null,
	[platformBinding]: null,
	codemirror: null,
	typescript: null,
	vite: null
};
for (const [name, exact] of Object.entries(KEY_PACKAGES)) {
	const have = onDisk(`node_modules/${name}`);
	const pinned = lock[`node_modules/${name}`]?.version ?? exact;
	if (have === null) problems.push(`${name}: required by the site but not installed`);
	else if (exact && have !== exact) problems.push(`${name}: ${have} installed, must be ${exact}`);
	else if (pinned && have !== pinned) problems.push(`${name}: ${have} installed, the lock pins ${pinned}`);
}

if (problems.length) {
	for (const p of problems) console.error(`[verify-install] ${p}`);
	process.exit(1);
}
const n = Object.keys(installed).filter((p) => p.startsWith('node_modules/')).length;
const extra = resolvedHere.length ? `; resolved for this platform (not in the lock): ${resolvedHere.join(', ')}` : '';
console.log(`[verify-install] ${n} packages match package-lock.json${extra}`);
