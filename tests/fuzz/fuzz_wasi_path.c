/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target for WASI path resolution: runs path_* calls with
 * fuzzer-chosen paths (and path_symlink targets) inside a sandbox that holds
 * escape bait (symlinks to "..", "/" and a loop), and aborts if any call
 * reads or changes anything outside the preopened directory. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "host/wasi/wasi.h"

#define MEM_SIZE 65536u
#define PATH_OFF 1024u
#define PATH2_OFF 8192u
#define OUT_OFF 16384u
#define IOV_OFF 20000u
#define BUF_OFF 20100u

static gr_wasi* w;
static wasm_rt_memory_t mem;
static char base[64], root[96], outside[128];

static void
write_file(const char* path, const char* text)
{
    FILE* f = fopen(path, "w");
    if (!f)
        abort();
    fputs(text, f);
    fclose(f);
}

static void
setup(void)
{
    strcpy(base, "/tmp/grfuzz.XXXXXX");
    if (!mkdtemp(base))
        abort();
    snprintf(root, sizeof root, "%s/root", base);
    snprintf(outside, sizeof outside, "%s/outside", base);
    if (mkdir(root, 0755) || mkdir(outside, 0755))
        abort();
    char p[256];
    snprintf(p, sizeof p, "%s/secret", outside);
    write_file(p, "top secret");
    snprintf(p, sizeof p, "%s/file", root);
    write_file(p, "inside");
    snprintf(p, sizeof p, "%s/d", root);
    mkdir(p, 0755);
    const char* links[][2] = { { "../outside", "up" },
                               { "/", "abs" },
                               { "loop", "loop" },
                               { "../..", "d/esc" },
                               { "../outside/secret", "sec" } };
    for (size_t i = 0; i < sizeof links / sizeof links[0]; i++) {
        snprintf(p, sizeof p, "%s/%s", root, links[i][1]);
        if (symlink(links[i][0], p))
            abort();
    }
    mem.data = calloc(1, MEM_SIZE);
    mem.pages = mem.max_pages = 1;
    mem.size = MEM_SIZE;
    gr_wasi_preopen pre = { root, "/" };
    gr_wasi_config cfg = { .n_preopens = 1,
                           .preopens = &pre,
                           .stdin_fd = -1,
                           .out = { .host_fd = -1 },
                           .err = { .host_fd = -1 } };
    if (gr_wasi_create(&cfg, &w))
        abort();
}

/* The outside directory must hold exactly "secret", unchanged. */
static void
check_outside(void)
{
    DIR* d = opendir(outside);
    if (!d)
        abort();
    struct dirent* e;
    int n = 0;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            n++;
    closedir(d);
    char p[256], buf[32] = "";
    snprintf(p, sizeof p, "%s/secret", outside);
    FILE* f = fopen(p, "r");
    if (!f || n != 1 || !fgets(buf, sizeof buf, f) ||
        strcmp(buf, "top secret") != 0) {
        fprintf(stderr, "sandbox escape: outside directory changed\n");
        abort();
    }
    fclose(f);
}

/* Reads from a freshly opened fd; outside contents mean an escape. */
static void
check_read(uint32_t fd)
{
    uint32_t* iov = (uint32_t*)(mem.data + IOV_OFF);
    iov[0] = BUF_OFF;
    iov[1] = 64;
    if (gr_wasi_fd_read(w, &mem, fd, IOV_OFF, 1, OUT_OFF + 8) != 0)
        return;
    uint32_t got = *(uint32_t*)(mem.data + OUT_OFF + 8);
    if (got >= 10 && memcmp(mem.data + BUF_OFF, "top secret", 10) == 0) {
        fprintf(stderr, "sandbox escape: read the outside secret\n");
        abort();
    }
    if (got >= 5 && memcmp(mem.data + BUF_OFF, "root:", 5) == 0) {
        fprintf(stderr, "sandbox escape: read /etc/passwd\n");
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    if (!w)
        setup();
    if (size < 2 || size > 2000)
        return 0;
    uint8_t op = data[0], flags = data[1];
    data += 2;
    size -= 2;
    /* Two paths separated by the first NUL-free split at byte '|'. */
    const uint8_t* bar = memchr(data, '|', size);
    size_t n1 = bar ? (size_t)(bar - data) : size;
    size_t n2 = bar ? size - n1 - 1 : 0;
    if (n1 > 4000 || n2 > 4000)
        return 0;
    memcpy(mem.data + PATH_OFF, data, n1 < 7000 ? n1 : 7000);
    if (bar)
        memcpy(mem.data + PATH2_OFF, bar + 1, n2 < 7000 ? n2 : 7000);
    uint32_t fd = 3, lookup = flags & 1;
    switch (op % 8) {
        case 0: {
            uint32_t rc = gr_wasi_path_open(w,
                                            &mem,
                                            fd,
                                            lookup,
                                            PATH_OFF,
                                            (uint32_t)n1,
                                            (flags >> 1) & 0xf,
                                            ~0ull,
                                            ~0ull,
                                            0,
                                            OUT_OFF);
            if (rc == 0)
                check_read(*(uint32_t*)(mem.data + OUT_OFF));
            break;
        }
        case 1:
            gr_wasi_path_filestat_get(
              w, &mem, fd, lookup, PATH_OFF, (uint32_t)n1, OUT_OFF);
            break;
        case 2:
            gr_wasi_path_create_directory(w, &mem, fd, PATH_OFF, (uint32_t)n1);
            break;
        case 3:
            gr_wasi_path_readlink(
              w, &mem, fd, PATH_OFF, (uint32_t)n1, BUF_OFF, 256, OUT_OFF);
            break;
        case 4:
            gr_wasi_path_symlink(
              w, &mem, PATH2_OFF, (uint32_t)n2, fd, PATH_OFF, (uint32_t)n1);
            break;
        case 5:
            gr_wasi_path_unlink_file(w, &mem, fd, PATH_OFF, (uint32_t)n1);
            break;
        case 6:
            gr_wasi_path_remove_directory(w, &mem, fd, PATH_OFF, (uint32_t)n1);
            break;
        case 7:
            gr_wasi_path_rename(
              w, &mem, fd, PATH_OFF, (uint32_t)n1, fd, PATH2_OFF, (uint32_t)n2);
            break;
    }
    gr_wasi_reset_fds(w);
    check_outside();
    return 0;
}
