/*
 * A minimal `cp [-f] SOURCE DEST` for the add-on images (which hold no shell or coreutils):
 * the Flannel DaemonSet's init containers copy the CNI plugin and config onto the node with it.
 * Writes DEST.tmp with SOURCE's mode, then renames it over DEST, so containerd never reads a
 * half-written CNI config. DEST `-` writes to standard output (a Pod prints a file of its own
 * view of the system, e.g. /proc/version under gVisor).
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int fail(const char *what, const char *path) {
  perror(what);
  fprintf(stderr, "cp: %s %s failed\n", what, path);
  return 1;
}

int main(int argc, char **argv) {
  int i = 1;
  if (i < argc && strcmp(argv[i], "-f") == 0) i++;
  if (argc - i != 2) {
    fprintf(stderr, "usage: cp [-f] SOURCE DEST\n");
    return 2;
  }
  const char *src = argv[i], *dst = argv[i + 1];
  char buf[65536];
  ssize_t n;
  if (strcmp(dst, "-") == 0) {
    int fd = open(src, O_RDONLY);
    if (fd < 0) return fail("open", src);
    while ((n = read(fd, buf, sizeof buf)) > 0) {
      if (write(1, buf, (size_t)n) != n) return fail("write", "stdout");
    }
    return n < 0 ? fail("read", src) : 0;
  }
  char tmp[4096];
  if (snprintf(tmp, sizeof tmp, "%s.tmp", dst) >= (int)sizeof tmp) return fail("name", dst);
  struct stat st;
  int in = open(src, O_RDONLY);
  if (in < 0 || fstat(in, &st) != 0) return fail("open", src);
  int out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, st.st_mode & 07777);
  if (out < 0) return fail("create", tmp);
  while ((n = read(in, buf, sizeof buf)) > 0) {
    for (ssize_t off = 0; off < n;) {
      ssize_t w = write(out, buf + off, (size_t)(n - off));
      if (w < 0) return fail("write", tmp);
      off += w;
    }
  }
  if (n < 0) return fail("read", src);
  if (fchmod(out, st.st_mode & 07777) != 0 || fsync(out) != 0 || close(out) != 0) return fail("close", tmp);
  close(in);
  if (rename(tmp, dst) != 0) return fail("rename", dst);
  return 0;
}
