// `npm test`: build, run vitest, then print one plain closing line ("N passed, N failed, N skipped")
// that CI and humans can read. Extra arguments go to vitest (e.g. `npm test -- test/client`).
//
// Without arguments the MCP conformance suite runs in a second vitest pass of its own: it drives
// the server through time-sensitive scenarios (elicitation, sampling, SSE) that have stalled when
// they shared the 2 cores with the sandbox-heavy suites.
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';

const build = spawnSync('npm', ['run', '-s', 'build'], { stdio: 'inherit' });
if (build.status !== 0) process.exit(build.status ?? 1);

const args = process.argv.slice(2);
const passes = args.length > 0 ? [args] : [['--exclude', 'test/conformance/**'], ['test/conformance']];

const totals = { passed: 0, failed: 0, skipped: 0, total: 0 };
let exitCode = 0;
for (const [i, pass] of passes.entries()) {
  const results = `.vitest-results-${i}.json`;
  rmSync(results, { force: true });
  const run = spawnSync(
    'npx',
    ['vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${results}`, ...pass],
    { stdio: 'inherit' },
  );
  let summary;
  try {
    summary = JSON.parse(readFileSync(results, 'utf8'));
  } catch {
    console.error(`vitest wrote no results file for: vitest run ${pass.join(' ')}`);
    process.exit(run.status || 1);
  }
  rmSync(results, { force: true });
  totals.passed += summary.numPassedTests;
  totals.failed += summary.numFailedTests;
  totals.skipped += (summary.numPendingTests ?? 0) + (summary.numTodoTests ?? 0);
  totals.total += summary.numTotalTests;
  if (run.status !== 0) exitCode = run.status ?? 1;
}

console.log(`${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped`);
if (totals.total === 0) {
  console.error('no test ran');
  process.exit(1);
}
process.exit(exitCode);
