// `npm test`: build, run vitest, then print one plain closing line ("N passed, N failed, N skipped")
// that CI and humans can read. Extra arguments go to vitest (e.g. `npm test -- test/client`).
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';

const results = '.vitest-results.json';
rmSync(results, { force: true });

const build = spawnSync('npm', ['run', '-s', 'build'], { stdio: 'inherit' });
if (build.status !== 0) process.exit(build.status ?? 1);

const run = spawnSync(
  'npx',
  ['vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${results}`, ...process.argv.slice(2)],
  { stdio: 'inherit' },
);

let summary;
try {
  summary = JSON.parse(readFileSync(results, 'utf8'));
} catch {
  console.error('vitest wrote no results file');
  process.exit(run.status || 1);
}
const skipped = (summary.numPendingTests ?? 0) + (summary.numTodoTests ?? 0);
console.log(`${summary.numPassedTests} passed, ${summary.numFailedTests} failed, ${skipped} skipped`);
if (summary.numTotalTests === 0) {
  console.error('no test ran');
  process.exit(1);
}
process.exit(run.status ?? 1);
