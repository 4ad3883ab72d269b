/*
 * hs_libc.c - the exchange's I/O as plain libc calls, for programs that
 * drive it without being preloaded (the syscall supervisor, tests). The
 * preloaded library has its own table (drive.c) and does not link this.
 */
#include "handshake.h"

#include <sys/socket.h>

const struct hs_io hs_io_libc = {connect, send, recv};
