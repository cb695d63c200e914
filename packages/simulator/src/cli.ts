#!/usr/bin/env node
import { runCli } from './internal/cli.js';

runCli(process.argv.slice(2)).then(
  (result) => {
    const { simulator } = result;
    if (simulator === undefined) {
      process.exitCode = result.exitCode;
      return;
    }
    const stop = () => {
      simulator.close().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  },
  (error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  },
);
