// A problem with the user's input file (missing, unreadable, wrong layout). `userFacing` makes bin/cli.ts
// print the message without a stack, like UserError.
export class TransactionFileError extends Error {
  readonly userFacing = true;
  override name = 'TransactionFileError';
}
