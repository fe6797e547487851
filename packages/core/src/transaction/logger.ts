/**
 * Where the transaction layer reports errors it must not throw: failures during cleanup after a
 * failed commit (they would mask the error that caused it), after-commit hook errors (the commit
 * already happened) and the "second phase" inconsistency when a data manager fails in `tpcFinish`.
 */
export interface TransactionLogger {
  /** An error that was swallowed so that another error (or a completed commit) is reported. */
  error(message: string, error: unknown): void;
  /**
   * Data managers may now disagree with each other: one finished and another failed to. As in
   * ZODB, this deserves an operator's attention.
   */
  critical(message: string, error: unknown): void;
}

/** The default logger: `console.error`, with a `CRITICAL` prefix for inconsistencies. */
export const consoleTransactionLogger: TransactionLogger = {
  error(message, error) {
    console.error(`[tidaldb.transaction] ${message}`, error);
  },
  critical(message, error) {
    console.error(`[tidaldb.transaction] CRITICAL: ${message}`, error);
  },
};
