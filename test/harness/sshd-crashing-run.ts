import { startSshd } from './sshd-fixture.ts';

/** A test run that dies without stopping its sshd: prints the fixture's directory, then exits. */
const sshd = await startSshd();
process.stdout.write(`${sshd.dir}\n`);
process.exit(0);
