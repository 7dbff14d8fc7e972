// The CLI's errors live in src/user-error.ts so the simulator's CLI can share them without importing
// the operator CLI (lint keeps src/simulator from importing src/client).
export { ExitCode, UserError } from '../user-error';
