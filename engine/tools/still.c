/* still.c — the `still` command line tool: main and subcommand dispatch.
 *
 * Each subcommand lives in a cli-*.c file and is listed once in the table
 * below; `still --help` prints the table. Exit status: 0 on success, 1 with
 * one line on stderr for any bad input (see cli-common.h).
 */
#include "cli-common.h"

#include <stdio.h>
#include <string.h>

typedef struct {
  const char *name;
  int (*run)(int argc, char **argv);
  const char *summary;
} still_command;

static const still_command commands[] = {
  {"info", still_cmd_info, "show what a GGUF model file holds (--json for JSON)"},
  {"tokenize", still_cmd_tokenize, "turn text into token ids"},
  {"detokenize", still_cmd_detokenize, "turn token ids into text"},
  {"template", still_cmd_template, "render chat messages with the model's chat template"},
  {"run", still_cmd_run, "generate text after a prompt"},
  {"chat", still_cmd_chat, "chat with a model in the terminal"},
  {"logits", still_cmd_logits, "write the logits of token ids as float32 (for checks)"},
  {"bench", still_cmd_bench, "measure prompt and generation speed (like llama-bench)"},
  {"make-model", still_cmd_make_model, "write a random-weight model of a real R1 shape"},
  {"fit", still_cmd_fit, "estimate whether a model runs on this (or a simulated) machine"},
  {"devices", still_cmd_devices, "list the Vulkan devices (for --device)"},
  {"hw", still_cmd_hw, "show the hardware the engine sees (GPUs, RAM, CPU, disk)"},
  {"recommend", still_cmd_recommend, "pick the best R1 model + quantization for this machine"},
};
#define N_COMMANDS (sizeof commands / sizeof commands[0])

static void print_usage(FILE *out)
{
  fprintf(out,
          "Usage: still COMMAND [OPTIONS] [ARGS]\n"
          "\n"
          "The inference engine of Distill, from the command line.\n"
          "\n"
          "Commands:\n");
  for (size_t i = 0; i < N_COMMANDS; i++) fprintf(out, "  %-12s %s\n", commands[i].name, commands[i].summary);
  fprintf(out,
          "\n"
          "Options:\n"
          "  -h, --help     show this help\n"
          "  --version      show the version\n"
          "\n"
          "Run 'still COMMAND --help' for the options of a command.\n");
}

int main(int argc, char **argv)
{
  if (argc < 2) return cli_fail("no command given (see 'still --help')");
  const char *cmd = argv[1];
  if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
    print_usage(stdout);
    return cli_finish_output();
  }
  if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "-V") == 0) {
    printf("still %s\n", STILL_VERSION);
    return cli_finish_output();
  }
  for (size_t i = 0; i < N_COMMANDS; i++)
    if (strcmp(cmd, commands[i].name) == 0) return commands[i].run(argc - 1, argv + 1);
  if (cmd[0] == '-') return cli_fail("unknown option '%s' (see 'still --help')", cmd);
  return cli_fail("unknown command '%s' (see 'still --help')", cmd);
}
