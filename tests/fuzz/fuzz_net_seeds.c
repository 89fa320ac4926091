/* SPDX-License-Identifier: Apache-2.0 */
/* Writes the seed corpus for fuzz_net_frame: one valid frame per message
 * type, a stream of all of them, and a few malformed frames.
 *   fuzz_net_seeds DIR */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "net/net.h"
#include "net_test_msgs.h"
#include "util/alloc.h"

static int
put(const char* dir, const char* name, const void* buf, size_t len)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE* f = fopen(path, "wb");
    if (!f || fwrite(buf, 1, len, f) != len) {
        perror(path);
        if (f)
            fclose(f);
        return 1;
    }
    return fclose(f) != 0;
}

int
main(int argc, char** argv)
{
    Granary__Envelope* envs[NET_TEST_NMSGS];
    uint8_t all[1 << 16];
    size_t all_len = 0;
    int bad = 0;
    if (argc != 2) {
        fprintf(stderr, "usage: fuzz_net_seeds DIR\n");
        return 2;
    }
    char parent[4096];
    snprintf(parent, sizeof parent, "%s", argv[1]);
    char* slash = strrchr(parent, '/');
    if (slash) {
        *slash = '\0';
        mkdir(parent, 0755);
    }
    if (mkdir(argv[1], 0755) && errno != EEXIST) {
        perror(argv[1]);
        return 1;
    }
    net_test_msgs(envs);
    for (int i = 0; i < NET_TEST_NMSGS; i++) {
        uint8_t* buf;
        size_t len;
        char name[64];
        if (gr_frame_encode(envs[i], GR_NET_MAX_PAYLOAD, &buf, &len))
            return 1;
        snprintf(
          name, sizeof name, "valid-%s", gr_net_type_name(envs[i]->body_case));
        bad |= put(argv[1], name, buf, len);
        if (all_len + len <= sizeof all) {
            memcpy(all + all_len, buf, len);
            all_len += len;
        }
        gr_free(buf);
    }
    bad |= put(argv[1], "stream-all", all, all_len);
    uint8_t h[GR_NET_HEADER_SIZE + 4];
    gr_frame_header_write(h, 0);
    bad |= put(argv[1], "zero-length", h, GR_NET_HEADER_SIZE);
    gr_frame_header_write(h, 4);
    memset(h + GR_NET_HEADER_SIZE, 0xff, 4);
    bad |= put(argv[1], "garbage", h, sizeof h);
    gr_frame_header_write(h, 0x7fffffff);
    bad |= put(argv[1], "oversize", h, GR_NET_HEADER_SIZE);
    bad |= put(argv[1], "truncated", all, 20);
    return bad;
}
