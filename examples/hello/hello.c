/* SPDX-License-Identifier: Apache-2.0 */
/* Example: an ordinary C program, run by Granary as a WASI command. It
 * greets the user from the environment and prints the file given as its
 * argument, which must lie inside a directory passed with --dir. */
#include <stdio.h>
#include <stdlib.h>

int
main(int argc, char** argv)
{
    const char* user = getenv("USER");
    printf("Hello, %s, from WebAssembly compiled to native code!\n",
           user ? user : "stranger");
    if (argc < 2)
        return 0;
    FILE* f = fopen(argv[1], "r");
    if (!f) {
        perror(argv[1]);
        return 1;
    }
    char line[256];
    while (fgets(line, sizeof line, f))
        printf("%s: %s", argv[1], line);
    fclose(f);
    return 0;
}
