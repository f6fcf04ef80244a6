/* commands.h -- the subcommands of bpcheck and their exit codes. */

#ifndef BPCHECK_COMMANDS_H
#define BPCHECK_COMMANDS_H

/* Exit codes (doc/reference.md): a CI script can rely on them. */
enum {
  EXIT_PASS = 0,     /* everything passed */
  EXIT_MISMATCH = 1, /* a gradient mismatch was found */
  EXIT_USAGE = 2,    /* bad usage or bad input */
  EXIT_EXTERNAL = 3  /* the external implementation failed */
};

int cmd_selftest(int argc, char **argv);
int cmd_trace(int argc, char **argv);
int cmd_gen(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_mutants(int argc, char **argv);
int cmd_model(int argc, char **argv);
int cmd_quiz(int argc, char **argv);

#endif
