/* SPDX-License-Identifier: Apache-2.0 */
/* The object cache's directory discipline: objects are built in private
 * tmp/ directories and published with one rename(), so readers only ever
 * see complete objects; crashed builds leave tmp/ entries that later runs
 * remove once their owner is gone. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "engine/codegen.h"
#include "util/fs.h"
#include "util/log.h"

/* An entry is named "<pid>-<random>" and its builder holds an flock on
 * it. It is stale when nobody holds the lock and its pid is gone (a
 * crashed build) or it is older than max_age (pid recycled, or another
 * pid namespace). A fresh directory is locked right after its mkdir. */
static int
entry_is_stale(const char* path, const char* name, long max_age)
{
    char* end = NULL;
    long pid = strtol(name, &end, 10);
    if (end == name || *end != '-' || pid <= 0)
        return 0;
    struct stat st;
    if (lstat(path, &st) < 0 || !S_ISDIR(st.st_mode))
        return 0;
    int old = time(NULL) - st.st_mtime >= max_age;
    int dead =
      pid != (long)getpid() && kill((pid_t)pid, 0) < 0 && errno == ESRCH;
    if (!old && !dead)
        return 0;
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    int free_lock = flock(fd, LOCK_EX | LOCK_NB) == 0;
    close(fd);
    return free_lock;
}

void
gr__cache_clean_stale(const char* cache_dir, long max_age)
{
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s/tmp", cache_dir) >= (int)sizeof tmp)
        return;
    DIR* d = opendir(tmp);
    if (!d)
        return;
    struct dirent* de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        char path[PATH_MAX];
        if (snprintf(path, sizeof path, "%s/%s", tmp, de->d_name) >=
            (int)sizeof path)
            continue;
        if (entry_is_stale(path, de->d_name, max_age)) {
            GR_INFO("codegen: removing stale build directory %s", path);
            gr_fs_remove_tree(path);
        }
    }
    closedir(d);
}

int
gr__cache_mktemp(const char* cache_dir, char* dir, int* lock_fd)
{
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s/tmp", cache_dir) >= (int)sizeof tmp)
        return -ENAMETOOLONG;
    int rc = gr_fs_mkdir_p(tmp);
    if (rc < 0)
        return rc;
    for (int attempt = 0; attempt < 16; attempt++) {
        uint64_t r = 0;
        if (getrandom(&r, sizeof r, 0) != (ssize_t)sizeof r)
            r = (uint64_t)clock() ^ ((uint64_t)time(NULL) << 20) ^
                (uint64_t)attempt;
        if (snprintf(dir,
                     PATH_MAX,
                     "%s/%ld-%016llx",
                     tmp,
                     (long)getpid(),
                     (unsigned long long)r) >= PATH_MAX)
            return -ENAMETOOLONG;
        if (mkdir(dir, 0755) == 0) {
            *lock_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            if (*lock_fd < 0 || flock(*lock_fd, LOCK_EX) < 0) {
                int e = errno;
                if (*lock_fd >= 0)
                    close(*lock_fd);
                *lock_fd = -1;
                rmdir(dir);
                return -e;
            }
            return 0;
        }
        if (errno != EEXIST)
            return -errno;
    }
    return -EEXIST;
}

static void
fsync_path(const char* path, int flags)
{
    int fd = open(path, flags | O_CLOEXEC);
    if (fd < 0)
        return;
    (void)fsync(fd);
    close(fd);
}

int
gr__cache_publish(const char* src, const char* final)
{
    /* Make the contents durable before the name appears, so a power loss
     * can not publish an empty module.so. */
    DIR* d = opendir(src);
    if (d) {
        struct dirent* de;
        while ((de = readdir(d)) != NULL) {
            if (de->d_name[0] == '.')
                continue;
            char p[PATH_MAX];
            if (snprintf(p, sizeof p, "%s/%s", src, de->d_name) < (int)sizeof p)
                fsync_path(p, O_RDONLY);
        }
        closedir(d);
    }
    fsync_path(src, O_RDONLY | O_DIRECTORY);

    if (rename(src, final) < 0) {
        int e = errno;
        /* rename(2) onto a non-empty directory fails with ENOTEMPTY or
         * EEXIST: someone else published the same object first. */
        if (e == ENOTEMPTY || e == EEXIST) {
            gr_fs_remove_tree(src);
            return 0;
        }
        return -e;
    }
    char parent[PATH_MAX];
    snprintf(parent, sizeof parent, "%s", final);
    char* slash = strrchr(parent, '/');
    if (slash) {
        *slash = 0;
        fsync_path(parent, O_RDONLY | O_DIRECTORY);
    }
    return 0;
}
