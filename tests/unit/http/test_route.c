/* SPDX-License-Identifier: Apache-2.0 */
/* Routing of the HTTP API: every endpoint, 404 / 400 / 405 decisions,
 * names and ids at their limits, and hostile paths. */
#include <errno.h>
#include <string.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "http/route.h"
#include "http/text.h"

static gr_http_route r;

static int
route(const char* m, const char* p)
{
    return gr_http_route_match(m, p, &r);
}

static void
test_endpoints(void** state)
{
    (void)state;
    assert_int_equal(route("GET", "/healthz"), 0);
    assert_int_equal(r.action, GR_HTTP_HEALTHZ);
    assert_false(gr_http_action_needs_auth(r.action));
    assert_int_equal(route("HEAD", "/metrics"), 0);
    assert_int_equal(r.action, GR_HTTP_METRICS);
    assert_false(gr_http_action_needs_auth(r.action));
    assert_int_equal(route("GET", "/whoami"), 0);
    assert_int_equal(r.action, GR_HTTP_WHOAMI);
    assert_true(gr_http_action_needs_auth(r.action));

    assert_int_equal(route("GET", "/f"), 0);
    assert_int_equal(r.action, GR_HTTP_FN_LIST);
    assert_string_equal(r.user, "");
    assert_int_equal(route("GET", "/f/alice/"), 0);
    assert_int_equal(r.action, GR_HTTP_FN_LIST);
    assert_string_equal(r.user, "alice");

    assert_int_equal(route("PUT", "/f/alice/echo"), 0);
    assert_int_equal(r.action, GR_HTTP_FN_UPLOAD);
    assert_string_equal(r.user, "alice");
    assert_string_equal(r.fn, "echo");
    assert_int_equal(route("POST", "/f/alice/echo"), 0);
    assert_int_equal(r.action, GR_HTTP_FN_INVOKE);
    assert_int_equal(route("GET", "/f/alice/echo"), 0);
    assert_int_equal(r.action, GR_HTTP_FN_GET);
    assert_int_equal(route("DELETE", "/f/alice/echo"), 0);
    assert_int_equal(r.action, GR_HTTP_FN_DELETE);

    assert_int_equal(route("GET", "/calls/42"), 0);
    assert_int_equal(r.action, GR_HTTP_CALL_GET);
    assert_int_equal(r.call_id, 42);
    assert_int_equal(route("GET", "/calls/18446744073709551615"), 0);
    assert_true(r.call_id == UINT64_MAX);
    assert_int_equal(route("POST", "/calls"), 0);
    assert_int_equal(r.action, GR_HTTP_CALL_POST);
}

static void
test_errors(void** state)
{
    (void)state;
    assert_int_equal(route("GET", "/"), -ENOENT);
    assert_int_equal(route("GET", ""), -ENOENT);
    assert_int_equal(route("GET", "healthz"), -ENOENT);
    assert_int_equal(route("GET", "/nope"), -ENOENT);
    assert_int_equal(route("GET", "/f/a/b/c"), -ENOENT);
    assert_int_equal(route("GET", "/f//b"), -ENOENT);
    assert_int_equal(route("GET", "/calls/1/2"), -ENOENT);
    assert_int_equal(route("GET", "/a/b/c/d/e/f/g"), -ENOENT);

    assert_int_equal(route("GET", "/f/al ice"), -EINVAL);
    assert_int_equal(route("GET", "/f/alice/.."), -EINVAL);
    assert_int_equal(route("GET", "/f/../etc"), -EINVAL);
    assert_int_equal(route("GET", "/calls/0"), -EINVAL);
    assert_int_equal(route("GET", "/calls/-1"), -EINVAL);
    assert_int_equal(route("GET", "/calls/12x"), -EINVAL);
    assert_int_equal(route("GET", "/calls/18446744073709551616"), -EINVAL);
    char big[100] = "/f/";
    memset(big + 3, 'x', 65);
    assert_int_equal(route("GET", big), -EINVAL);
    big[3 + 64] = '\0';
    assert_int_equal(route("GET", big), 0);

    /* the path is raw: segments are decoded after the split, and a
     * decoded NUL, '/', space or non-ASCII byte is not a name */
    assert_int_equal(route("PUT", "/f/alice/x%00y"), -EINVAL);
    assert_int_equal(route("PUT", "/f/alice/x%2Fy"), -EINVAL);
    assert_int_equal(route("PUT", "/f/alice/x%2fy"), -EINVAL);
    assert_int_equal(route("PUT", "/f/alice/x%20y"), -EINVAL);
    assert_int_equal(route("PUT", "/f/alice/x%C3%A9"), -EINVAL);
    assert_int_equal(route("PUT", "/f/alice/x\xc3\xa9"), -EINVAL);
    assert_int_equal(route("PUT", "/f/alice/%2e%2E"), -EINVAL);
    assert_int_equal(route("PUT", "/f/al%00/x"), -EINVAL);
    assert_int_equal(route("PUT", "/s/alice/k%00"), -EINVAL);
    assert_int_equal(route("PUT", "/f/alice/x%"), -EINVAL);
    assert_int_equal(route("PUT", "/f/alice/x%4"), -EINVAL);
    assert_int_equal(route("PUT", "/f/alice/x%g1"), -EINVAL);
    assert_int_equal(route("GET", "/calls/1%00"), -EINVAL);
    assert_int_equal(route("PUT", "/f/%61lice/%65cho"), 0);
    assert_string_equal(r.user, "alice");
    assert_string_equal(r.fn, "echo");
    assert_int_equal(route("GET", "/%68ealthz"), 0);
    assert_int_equal(r.action, GR_HTTP_HEALTHZ);
    /* 64 escaped bytes decode to a name at the limit; 65 do not */
    char esc[400] = "/f/alice/";
    for (int i = 0; i < 64; i++)
        strcat(esc, "%61");
    assert_int_equal(route("PUT", esc), 0);
    assert_int_equal(strlen(r.fn), 64);
    strcat(esc, "%61");
    assert_int_equal(route("PUT", esc), -EINVAL);

    assert_int_equal(route("POST", "/healthz"), -ENOTSUP);
    assert_string_equal(r.allow, "GET, HEAD");
    assert_int_equal(route("PATCH", "/f/alice/echo"), -ENOTSUP);
    assert_non_null(strstr(r.allow, "PUT"));
    assert_int_equal(route("PUT", "/f/alice"), -ENOTSUP);
    assert_int_equal(route("DELETE", "/calls/3"), -ENOTSUP);
    assert_int_equal(route("GET", "/calls"), -ENOTSUP);
    assert_string_equal(r.allow, "POST");
}

static void
test_utf8(void** state)
{
    (void)state;
    const char* ok[] = {
        "", "hello", "h\xc3\xa9llo", "\xe2\x82\xac", "\xf0\x9f\x98\x80"
    };
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++)
        assert_true(gr_http_utf8_valid((const uint8_t*)ok[i], strlen(ok[i])));
    const uint8_t nul[] = { 'a', 0, 'b' };
    assert_true(gr_http_utf8_valid(nul, 3));
    assert_true(gr_http_utf8_valid(NULL, 0));
    const char* bad[] = { "\xff",         "\xc3",         "\xc0\xaf",
                          "\xe0\x80\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80",
                          "\x80",         "\xe2\x82" };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_false(
          gr_http_utf8_valid((const uint8_t*)bad[i], strlen(bad[i])));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_endpoints),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_utf8),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
