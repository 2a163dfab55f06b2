// A chain of process images made by fork, exec and posix_spawn, each doing a known number of
// allocations of a size of its own: image I allocates 100 + 10*I blocks of 10000 + 100*I bytes
// and frees all but the last. Each image appends "image I pid P ppid Q\n" to LOG (one write).
//
//   image 0 (pid A)          work; fork -> image 5; wait; execv -> image 1
//   image 1 (pid A, exec 1)  work; fork -> child that execv's at once -> image 2; wait; return 0
//   image 2 (pid C)          work; execvp -> image 3
//   image 3 (pid C, exec 1)  work; fork -> image 6; posix_spawn -> image 4; wait both; return 0
//   image 4 (pid E)          work; return 0
//   image 5 (pid B, forked)  work; execl -> image 7
//   image 6 (pid D, forked)  work; _exit(0)
//   image 7 (pid B, exec 1)  work; exit(0)
//
// Usage: fork_chain LOG IMAGE    (start with IMAGE 0; argv[0] must be a path to this program)
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

static const char* self;
static const char* log_path;

static void work(int image) {
  static void* volatile blocks[256];
  int count = 100 + 10 * image;
  size_t size = 10000 + 100 * (size_t)image;
  for (int i = 0; i < count; ++i) {
    blocks[i] = malloc(size);
    if (blocks[i] == NULL) _exit(3);
  }
  for (int i = 0; i < count - 1; ++i) free(blocks[i]);
  char line[128];
  int n = snprintf(line, sizeof line, "image %d pid %d ppid %d\n", image, (int)getpid(),
                   (int)getppid());
  int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (fd < 0 || write(fd, line, (size_t)n) != n) _exit(4);
  close(fd);
}

static void wait_for(pid_t pid) {
  int status;
  if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    fprintf(stderr, "child %d failed (status %d)\n", (int)pid, status);
    exit(5);
  }
}

int main(int argc, char** argv) {
  if (argc != 3) return 2;
  self = argv[0];
  log_path = argv[1];
  int image = atoi(argv[2]);
  work(image);
  pid_t child;
  switch (image) {
    case 0:
      child = fork();
      if (child == 0) {
        work(5);
        execl(self, self, log_path, "7", (char*)NULL);
        _exit(6);
      }
      wait_for(child);
      execv(self, (char*[]){(char*)self, (char*)log_path, "1", NULL});
      return 6;
    case 1:
      child = fork();
      if (child == 0) {
        execv(self, (char*[]){(char*)self, (char*)log_path, "2", NULL});
        _exit(6);
      }
      wait_for(child);
      return 0;
    case 2:
      execvp(self, (char*[]){(char*)self, (char*)log_path, "3", NULL});
      return 6;
    case 3: {
      child = fork();
      if (child == 0) {
        work(6);
        _exit(0);
      }
      pid_t spawned;
      char* args[] = {(char*)self, (char*)log_path, "4", NULL};
      if (posix_spawn(&spawned, self, NULL, NULL, args, environ) != 0) return 7;
      wait_for(child);
      wait_for(spawned);
      return 0;
    }
    case 4:
      return 0;
    case 7:
      exit(0);
    default:
      return 2;
  }
}
