/* SPDX-License-Identifier: Apache-2.0 */
/* Test/demo guest: greets, echoes its arguments and an environment
 * variable, and, given a path, prints the first line of that file. */
#include <stdio.h>
#include <stdlib.h>

int
main(int argc, char** argv)
{
    const char* who = getenv("GREETING_NAME");
    printf("hello from wasm, %s!\n", who ? who : "world");
    for (int i = 1; i < argc; i++)
        printf("arg %d: %s\n", i, argv[i]);
    if (argc > 2 && argv[1][0] == '-' && argv[1][1] == 'f') {
        FILE* f = fopen(argv[2], "r");
        if (!f) {
            perror(argv[2]);
            return 3;
        }
        char line[256];
        if (fgets(line, sizeof line, f))
            printf("file: %s", line);
        fclose(f);
    }
    return 0;
}
