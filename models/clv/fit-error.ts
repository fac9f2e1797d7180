// A model fit that cannot give an answer for this data. `userFacing` makes bin/cli.ts print the message
// without a stack, like UserError (kept separate so models/ does not import the CLI).
export class FitError extends Error {
  readonly userFacing = true;
  override name = 'FitError';
}
