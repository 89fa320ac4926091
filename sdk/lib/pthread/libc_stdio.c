/* SPDX-License-Identifier: Apache-2.0 */
/* stdio made safe for threads: wasi-libc's FILE functions (non-threaded
 * build, no FILE locks) behind one recursive lock for all streams.
 * granary-cc -pthread links with -Wl,--wrap=<name> for each (wrap.list);
 * the lock is recursive because libc's functions call each other through
 * the wrappers too. */
#include <stdarg.h>
#include <stdio.h>
#include <sys/types.h>

#include "pthread_int.h"

struct gr_rlock gr__pt_stdio_lock;

#define LK() gr__pt_rlock(&gr__pt_stdio_lock)
#define UN() gr__pt_runlock(&gr__pt_stdio_lock)

/* Declares __real_<name> and __wrap_<name> and defines the wrapper. */
#define WRAP(ret, name, params, args)                                          \
    ret __real_##name params;                                                  \
    ret __wrap_##name params;                                                  \
    ret __wrap_##name params                                                   \
    {                                                                          \
        LK();                                                                  \
        ret r_ = __real_##name args;                                           \
        UN();                                                                  \
        return r_;                                                             \
    }

#define WRAP_VOID(name, params, args)                                          \
    void __real_##name params;                                                 \
    void __wrap_##name params;                                                 \
    void __wrap_##name params                                                  \
    {                                                                          \
        LK();                                                                  \
        __real_##name args;                                                    \
        UN();                                                                  \
    }

WRAP(int, vfprintf, (FILE * f, const char* fmt, va_list ap), (f, fmt, ap))
WRAP(int, vfscanf, (FILE * f, const char* fmt, va_list ap), (f, fmt, ap))
WRAP(int, puts, (const char* s), (s))
WRAP(int, fputs, (const char* s, FILE* f), (s, f))
WRAP(size_t, fwrite, (const void* p, size_t n, size_t m, FILE* f), (p, n, m, f))
WRAP(int, fputc, (int c, FILE* f), (c, f))
WRAP(int, putc, (int c, FILE* f), (c, f))
WRAP(int, putchar, (int c), (c))
WRAP(int, fflush, (FILE * f), (f))
WRAP(size_t, fread, (void* p, size_t n, size_t m, FILE* f), (p, n, m, f))
WRAP(char*, fgets, (char* s, int n, FILE* f), (s, n, f))
WRAP(int, fgetc, (FILE * f), (f))
WRAP(int, getc, (FILE * f), (f))
WRAP(int, getchar, (void), ())
WRAP(int, ungetc, (int c, FILE* f), (c, f))
WRAP(ssize_t, getline, (char** s, size_t* n, FILE* f), (s, n, f))
WRAP(ssize_t, getdelim, (char** s, size_t* n, int d, FILE* f), (s, n, d, f))
WRAP_VOID(perror, (const char* s), (s))
WRAP(FILE*, fopen, (const char* p, const char* m), (p, m))
WRAP(FILE*, fdopen, (int fd, const char* m), (fd, m))
WRAP(FILE*, freopen, (const char* p, const char* m, FILE* f), (p, m, f))
WRAP(int, fclose, (FILE * f), (f))
WRAP(int, fseek, (FILE * f, long o, int w), (f, o, w))
WRAP(int, fseeko, (FILE * f, off_t o, int w), (f, o, w))
WRAP(long, ftell, (FILE * f), (f))
WRAP(off_t, ftello, (FILE * f), (f))
WRAP_VOID(rewind, (FILE * f), (f))
WRAP(int, setvbuf, (FILE * f, char* b, int m, size_t n), (f, b, m, n))
WRAP_VOID(setbuf, (FILE * f, char* b), (f, b))

/* The variadic ones go straight to the v-functions, under the lock. */
int __wrap_printf(const char* fmt, ...);
int __wrap_fprintf(FILE* f, const char* fmt, ...);
int __wrap_vprintf(const char* fmt, va_list ap);
int __wrap_scanf(const char* fmt, ...);
int __wrap_fscanf(FILE* f, const char* fmt, ...);
int __wrap_vscanf(const char* fmt, va_list ap);

int
__wrap_printf(const char* fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = __wrap_vfprintf(stdout, fmt, ap);
    va_end(ap);
    return r;
}

int
__wrap_fprintf(FILE* f, const char* fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = __wrap_vfprintf(f, fmt, ap);
    va_end(ap);
    return r;
}

int
__wrap_vprintf(const char* fmt, va_list ap)
{
    return __wrap_vfprintf(stdout, fmt, ap);
}

int
__wrap_scanf(const char* fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = __wrap_vfscanf(stdin, fmt, ap);
    va_end(ap);
    return r;
}

int
__wrap_fscanf(FILE* f, const char* fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = __wrap_vfscanf(f, fmt, ap);
    va_end(ap);
    return r;
}

int
__wrap_vscanf(const char* fmt, va_list ap)
{
    return __wrap_vfscanf(stdin, fmt, ap);
}
