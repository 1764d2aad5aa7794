/*
 * t_mdquota: common/mdquota.c, Courier's maildirsize text: the quota
 * line maildirmake -q writes (the cases tests/integration/
 * test_mdm_quota.py compares with the real program), Courier's lenient
 * reading of it, updating the first line only, directory numbers and
 * the counting rules for message and folder names.
 */
#include <stdio.h>
#include <string.h>

#include "common/buf.h"
#include "common/mdquota.h"
#include "unit.h"

static void
line(const char *name, unsigned long long b, unsigned long long c,
    const char *want)
{
	struct mdquota q = { b, c };
	char out[MDQUOTA_LINE_MAX];
	size_t n = mdquota_line(&q, out);

	CHECK_STR(name, out, want);
	CHECK(name, n == strlen(want));
}

static void
lines(void)
{
	line("line: both", 104857600, 1000, "104857600S,1000C");
	line("line: size only", 104857600, 0, "104857600S");
	line("line: count only", 0, 1000, "1000C");
	line("line: none", 0, 0, "");
	line("line: largest", MDQUOTA_BYTES_MAX, MDQUOTA_COUNT_MAX,
	    "9223372036854775807S,2147483647C");
}

static void
parse(const char *name, const char *s, unsigned long long b,
    unsigned long long c)
{
	struct mdquota q = { 7, 7 };
	char why[200];

	mdquota_courier_parse(s, strlen(s), &q);
	snprintf(why, sizeof(why), "%s (got %llu,%llu)", name, q.bytes,
	    q.count);
	CHECK(why, q.bytes == b && q.count == c);
}

static void
courier_reading(void)
{
	parse("parse: both", "104857600S,1000C", 104857600, 1000);
	parse("parse: reversed", "1000C,104857600S", 104857600, 1000);
	parse("parse: last wins", "12S,13C,14C", 12, 14);
	parse("parse: junk skipped", "x5Sy,z", 5, 0);
	parse("parse: digits without a letter", "500", 0, 0);
	parse("parse: stops at newline", "5S\n9C", 5, 0);
	parse("parse: empty", "", 0, 0);
	{
		struct mdquota z = { 7, 7 };

		mdquota_courier_parse(NULL, 0, &z);
		CHECK("parse: NULL, 0", z.bytes == 0 && z.count == 0);
	}
	parse("parse: saturates", "99999999999999999999999S", MDQUOTA_BYTES_MAX,
	    0);
}

static void
files(void)
{
	struct mdquota q = { 104857600, 1000 }, s = { 5, 0 };
	struct buf b = BUF_INIT;
	const char *old;

	mdquota_file(&q, 0, 0, &b);
	CHECK_MEM("new file: both", b.p, b.len,
	    "104857600S,1000C\n           0            0\n");
	mdquota_file(&s, 48, 3, &b);
	CHECK_MEM("new file: usage", b.p, b.len,
	    "5S\n          48            3\n");

	old = "500S\n          48            3\n         100     2\n";
	CHECK("update: same quota", mdquota_update(old, strlen(old),
	    &(struct mdquota){ 500, 0 }, &b) == MDQUOTA_SAME);
	CHECK("update: same quota written otherwise", mdquota_update(
	    "0C,500S\n 1 1\n", 14, &(struct mdquota){ 500, 0 }, &b) ==
	    MDQUOTA_SAME);
	CHECK("update: changed", mdquota_update(old, strlen(old), &q, &b) ==
	    MDQUOTA_CHANGED);
	CHECK_MEM("update: usage lines kept byte for byte", b.p, b.len,
	    "104857600S,1000C\n          48            3\n         100     "
	    "2\n");
	CHECK("update: count only", mdquota_update(old, strlen(old),
	    &(struct mdquota){ 0, 10 }, &b) == MDQUOTA_CHANGED);
	CHECK_MEM("update: count only text", b.p, b.len,
	    "10C\n          48            3\n         100     2\n");
	CHECK("update: line without usage", mdquota_update("500S\n", 5, &q,
	    &b) == MDQUOTA_NO_USAGE);
	CHECK("update: no newline at all", mdquota_update("500S", 4, &q, &b)
	    == MDQUOTA_NO_USAGE);
	CHECK("update: empty file", mdquota_update("", 0, &q, &b) ==
	    MDQUOTA_NO_USAGE);
	/* An empty buffer that never held anything has no pointer. */
	CHECK("update: empty, NULL", mdquota_update(NULL, 0, &q, &b) ==
	    MDQUOTA_NO_USAGE);
	CHECK("update: last line open is kept", mdquota_update("1S\n 2 3", 7,
	    &s, &b) == MDQUOTA_CHANGED && b.len == 7 &&
	    memcmp(b.p, "5S\n 2 3", 7) == 0);
	buf_free(&b);
}

static void
numbers(void)
{
	unsigned long long n = 42;

	CHECK("number: plain", mdquota_number("1048576", 7, MDQUOTA_BYTES_MAX,
	    &n) == 0 && n == 1048576);
	CHECK("number: zero", mdquota_number("0", 1, 10, &n) == 0 && n == 0);
	CHECK("number: at max", mdquota_number("2147483647", 10,
	    MDQUOTA_COUNT_MAX, &n) == 0 && n == MDQUOTA_COUNT_MAX);
	CHECK("number: over max", mdquota_number("2147483648", 10,
	    MDQUOTA_COUNT_MAX, &n) == -1);
	CHECK("number: int64 max", mdquota_number("9223372036854775807", 19,
	    MDQUOTA_BYTES_MAX, &n) == 0 && n == MDQUOTA_BYTES_MAX);
	CHECK("number: past int64", mdquota_number("9223372036854775808", 19,
	    MDQUOTA_BYTES_MAX, &n) == -1);
	CHECK("number: 20 nines", mdquota_number("99999999999999999999", 20,
	    MDQUOTA_BYTES_MAX, &n) == -1);
	CHECK("number: empty", mdquota_number("", 0, 10, &n) == -1);
	CHECK("number: sign", mdquota_number("-1", 2, 10, &n) == -1);
	CHECK("number: plus", mdquota_number("+1", 2, 10, &n) == -1);
	CHECK("number: space", mdquota_number(" 1", 2, 10, &n) == -1);
	CHECK("number: unit", mdquota_number("10M", 3, 1000, &n) == -1);
}

static void
counting(void)
{
	unsigned long long s = 0;

	CHECK("folder: .Sent", mdquota_counts_folder(".Sent"));
	CHECK("folder: .Trash not", !mdquota_counts_folder(".Trash"));
	CHECK("folder: .Trash.Old counts", mdquota_counts_folder(
	    ".Trash.Old"));
	CHECK("folder: cur not", !mdquota_counts_folder("cur"));
	CHECK("folder: . and .. not", !mdquota_counts_folder(".") &&
	    !mdquota_counts_folder(".."));

	CHECK("file: new message", mdquota_counts_file("1.M1P1.host,S=20"));
	CHECK("file: seen", mdquota_counts_file("2.M1P1.host:2,S"));
	CHECK("file: trashed", !mdquota_counts_file("3.M1.host:2,ST"));
	CHECK("file: T after others", !mdquota_counts_file("3.M1.host:2,FRT"));
	CHECK("file: lower t is not T", mdquota_counts_file("3.M1.host:2,St"));
	CHECK("file: dot file", !mdquota_counts_file(".hidden"));

	CHECK("size: S=", mdquota_name_size("1.M1P1.host,S=20", &s) == 0 &&
	    s == 20);
	CHECK("size: before flags", mdquota_name_size("3.M1.host,S=4:2,S",
	    &s) == 0 && s == 4);
	CHECK("size: W= is not S=", mdquota_name_size("3.M1.host,W=9:2,",
	    &s) == -1);
	CHECK("size: after the colon is not read",
	    mdquota_name_size("3.M1.host:2,S=5", &s) == -1);
	CHECK("size: the last one", mdquota_name_size("a,S=1,S=2", &s) == 0 &&
	    s == 2);
	CHECK("size: no digits is 0", mdquota_name_size("a,S=:2,", &s) == 0 &&
	    s == 0);
	CHECK("size: none", mdquota_name_size("1.M1P1.host", &s) == -1);
	CHECK("size: too large", mdquota_name_size("a,S=99999999999999999999",
	    &s) == -1);
}

int
main(void)
{
	lines();
	courier_reading();
	files();
	numbers();
	counting();
	return unit_done();
}
