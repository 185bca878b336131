// SPDX-License-Identifier: MIT
// LD_PRELOAD diagnostic for pipelines/gpu-check.sh, where there is no gdb:
// on SIGSEGV/SIGBUS/SIGABRT prints the faulting instruction, the address on
// top of the stack (the caller, when a null function pointer was called and
// the unwinder has nothing to go on) and the unwound backtrace, each as
// "file(+offset)" for pipelines/segv-symbols.py, then exits with 128 + signal.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <execinfo.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <ucontext.h>
#include <unistd.h>

static void print_address(const char* what, void* address) {
  Dl_info info;
  char line[512];
  int n;
  if (address && dladdr(address, &info) && info.dli_fname)
    n = snprintf(line, sizeof line, "%s: %s(+%#lx)\n", what, info.dli_fname,
                 (unsigned long)((char*)address - (char*)info.dli_fbase));
  else
    n = snprintf(line, sizeof line, "%s: %p (in no loaded file)\n", what, address);
  if (n > 0) write(2, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
}

static void on_fault(int sig, siginfo_t* si, void* context) {
  const ucontext_t* uc = (const ucontext_t*)context;
  void* frames[64];
  int n;
  write(2, "\nSEGV-TRACE begin\n", 18);
  print_address("signal address", si->si_addr);
#if defined(__x86_64__)
  print_address("faulting instruction", (void*)uc->uc_mcontext.gregs[REG_RIP]);
  print_address("top of stack (caller?)", *(void**)uc->uc_mcontext.gregs[REG_RSP]);
#else
  (void)uc;
#endif
  n = backtrace(frames, 64);
  backtrace_symbols_fd(frames, n, 2);
  write(2, "SEGV-TRACE end\n", 15);
  _exit(128 + sig);
}

__attribute__((constructor)) static void install(void) {
  static char stack[1 << 16];
  stack_t ss;
  struct sigaction sa;
  ss.ss_sp = stack;
  ss.ss_size = sizeof stack;
  ss.ss_flags = 0;
  sigaltstack(&ss, NULL);
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_fault;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
  sigaction(SIGSEGV, &sa, NULL);
  sigaction(SIGBUS, &sa, NULL);
  sigaction(SIGABRT, &sa, NULL);
}
