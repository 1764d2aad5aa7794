"""tests/mutants.py: the deliberate bugs tests/mutate puts into a scratch
copy of the tree, one at a time; the suite must catch every one.

This file is data only, kept in one place so that it is easy to update
when the code moves.  Each mutant is a dict:

  name   a short name (tests/mutate NAME runs only that one)
  why    the behaviour the bug breaks (as README / the man pages say it)
  file   the file it changes, relative to the repository
  old    the exact text to replace: it must occur exactly once in file,
         or tests/mutate stops with "cannot apply" (exit 2) -- after a
         refactoring, copy the new text of the same logic here
  new    what replaces it (it must still compile, with -Werror off)
  tests  tests/run PATTERNs run against the mutant build: a unit test
         t_NAME, a fuzz replay fuzz_NAME, an integration test file
         test_NAME.py (a PATTERN matches any file name containing it:
         write test_maildirmake.py, not test_maildirmake, which is also
         in test_maildirmake_safety.py; */t_snapshot, not t_snapshot,
         which is in test_snapshot_format.py)
  only   optional: in those integration files, only the tests whose
         name contains one of these words (tests/run --only); the
         selection is proven to pass on the unmutated tree first

A mutant is caught when that run fails; tests/mutate prints which checks
failed.  Add a mutant for every behaviour a test was written for.
"""

MUTANTS = [
    dict(
        name="persist-delete-falls-to-snapshot",
        why="sync = persist: a key deleted in the directory answers "
            "NOTFOUND at once, before the cdb file drops it",
        file="lookupd/decide.c",
        old="\t\t\tcontinue;\t/* deleted since the file was written */",
        new="\t\t\tr = 0;",
        tests=["test_persist.py"],
        only=["setup", "answered before the cdb"],
    ),
    dict(
        name="persist-overlay-ignored",
        why="sync = persist: a change answers at once, before the cdb "
            "file has it",
        file="lookupd/decide.c",
        old="\t\tint r = overlay_get(ov, w->step[i], w->steplen[i], "
            "&d->val,",
        new="\t\tint r = 0 * overlay_get(ov, w->step[i], w->steplen[i], "
            "&d->val,",
        tests=["test_persist.py"],
        only=["setup", "answered before the cdb"],
    ),
    dict(
        name="ignore-max-stale",
        why="a snapshot older than max_stale is not answered from",
        file="lookupd/decide.c",
        old="\t\treturn 0;\n\tif (now - snapshot_built(snap) > "
            "cfg->max_stale) {",
        new="\t\treturn 0;\n\tif (0) {",
        tests=["test_lookupd_options.py"],
        only=["max stale"],
    ),
    dict(
        name="notfound-when-ldap-down",
        why="never NOTFOUND when LDAP could not be asked: TEMP",
        file="lookupd/live.c",
        old="\t\t/* Anything but a complete answer is TEMP: mail waits. */\n"
            "\t\ta->res = RES_TEMP;",
        new="\t\ta->res = RES_NOTFOUND;",
        tests=["test_lookupd_faults.py"],
    ),
    dict(
        name="miss-lookup-no-guesses-notfound",
        why="miss_lookup = no without a usable snapshot: TEMP",
        file="lookupd/decide.c",
        old="\t\t\tdecided(d, DECIDE_NO_LIVE, RES_TEMP, \"no usable \"",
        new="\t\t\tdecided(d, DECIDE_NO_LIVE, RES_NOTFOUND, \"no usable \"",
        tests=["test_lookupd_options.py"],
        only=["miss lookup"],
    ),
    dict(
        name="miss-lookup-ignored",
        why="miss_lookup = no: a key the snapshot lacks is not asked live",
        file="lookupd/decide.c",
        old="\tif (!cfg->miss_lookup) {",
        new="\tif (0) {",
        tests=["test_lookupd_options.py"],
        only=["miss lookup"],
    ),
    dict(
        name="skip-ext-strip",
        why="user+ext@dom is also looked up as user@dom",
        file="lookupd/maps.c",
        old="\tsplit = ext_split(key, (size_t)(at - key), "
            "cfg->recipient_delimiter);",
        new="\tsplit = 0;",
        tests=["t_maps", "fuzz_walk", "test_lookupd_answers.py"],
    ),
    dict(
        name="no-escape-star",
        why="keys go into LDAP filters RFC 4515-escaped, * included",
        file="common/ldapesc.c",
        old="return c < 0x20 || c > 0x7e || c == '*' || c == '(' || "
            "c == ')' ||",
        new="return c < 0x20 || c > 0x7e || c == '(' || c == ')' ||",
        tests=["t_ldapesc", "fuzz_ldapesc", "test_lookupd_answers.py"],
    ),
    dict(
        name="maildir-follows-symlinks",
        why="never follow a symlink when creating directories as root",
        file="maildirmake/maildir.c",
        old="#define DIR_FLAGS\t(O_RDONLY | O_DIRECTORY | O_NOFOLLOW | "
            "O_CLOEXEC)",
        new="#define DIR_FLAGS\t(O_RDONLY | O_DIRECTORY | O_CLOEXEC)",
        tests=["test_maildirmake_safety.py"],
    ),
    dict(
        name="maildir-mode-0755",
        why="a maildir is 0700, as Courier's maildirmake makes it",
        file="maildirmake/maildir.c",
        old="static const struct courier_modes maildir = "
            "{ 0700, 0700, 3, 0 };",
        new="static const struct courier_modes maildir = "
            "{ 0755, 0700, 3, 0 };",
        tests=["test_maildirmake.py"],
        only=["courier layout", "differential"],
    ),
    dict(
        name="layout-shared-flat-accepted",
        why="a shared store lies two levels below <mail_base>/<shared_dir>/"
            " (one layout rule for ldap-maildirmake, lint and route)",
        file="common/layout.c",
        old="\tif (last == NULL)\n\t\treturn LAYOUT_SHARED_FLAT;",
        new="\tif (last == NULL)\n\t\tlast = rest;",
        tests=["t_layout", "t_lint", "t_plan"],
    ),
    dict(
        name="run-lock-not-taken",
        why="two runs of ldap-maildirmake exclude each other (flock on "
            "mail_base)",
        file="maildirmake/maildir.c",
        old="\tif (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) != 0) {",
        new="\tif (fd < 0) {",
        tests=["test_maildirmake.py"],
        only=["lock", "exclude"],
    ),
    dict(
        name="shared-maildirs-dir-ignored",
        why="shared maildirs go to <mail_base>/<shared_maildirs_dir>",
        file="maildirmake/run.c",
        old="\tprm.shared_maildirs_dir = s->cfg->shared_maildirs_dir;",
        new='\tprm.shared_maildirs_dir = "shared.maildirs";',
        tests=["test_maildirmake_options.py"],
    ),
    dict(
        name="cdb-without-fsync",
        why="a snapshot is on the disk before it replaces the old one",
        file="lookupd/snapwriter.c",
        old="\tfs->rc = fsync(fs->fd);",
        new="\tfs->rc = 0;",
        tests=["test_snapshot_durability.py"],
    ),
    dict(
        name="cdbout-probe-start",
        why="snapshots are cdb files tinycdb and Postfix read: a record's "
            "hash slot search starts at (hash >> 8) mod the table's slots",
        file="lookupd/cdbout.c",
        old="\t\t\tuint32_t hi = (r->hash >> 8) % len;",
        new="\t\t\tuint32_t hi = (r->hash >> 7) % len;",
        tests=["t_cdbout"],
    ),
    dict(
        name="cdbout-copy-run-split",
        why="a batch commit copies the base's unchanged records as they "
            "stand: the new file is the bytes a full build writes",
        file="lookupd/cdbout.c",
        old="\tc->runlen += 8 + klen + vlen;",
        new="\tc->runlen += 8 + klen;",
        tests=["t_cdbout", "t_snapwriter"],
    ),
    dict(
        name="answer-damaged-snapshot",
        why="a snapshot whose digest does not match is never answered "
            "from",
        file="lookupd/snapshot.c",
        old="\tif (memcmp(want, got, sizeof(want)) != 0) {",
        new="\tif (0) {",
        tests=["*/t_snapshot", "test_lookupd_faults.py"],
    ),
    dict(
        name="ignore-negative-ttl",
        why="a live miss is remembered for negative_ttl seconds",
        file="lookupd/decide.c",
        old="\t    cfg->negative_ttl > 0) {",
        new="\t    0) {",
        tests=["test_lookupd_options.py"],
        only=["negative ttl"],
    ),
    dict(
        name="early-rebuild-ignores-min-refresh",
        why="a live find brings the rebuild forward, at most once per "
            "min_refresh",
        file="lookupd/engine.c",
        old="now >= e->last_build + e->build_cr->cfg->min_refresh);",
        new="1);",
        tests=["test_lookupd_options.py"],
        only=["min refresh"],
    ),
    dict(
        name="failed-rebuild-retry-no-floor",
        why="a failed rebuild is retried after min_refresh, at least 5 s",
        file="lookupd/engine.c",
        old="int retry = cr->cfg->min_refresh > RETRY_MIN ?\n"
            "\t\t\t    cr->cfg->min_refresh : RETRY_MIN;",
        new="int retry = cr->cfg->min_refresh;",
        tests=["test_lookupd_options.py"],
        only=["failed rebuild"],
    ),
    dict(
        name="live-queue-unbounded",
        why="with 2048 live lookups waiting, one more is TEMP at once",
        file="lookupd/engine.c",
        old="\tif (e->queued >= QUEUE_MAX) {",
        new="\tif (0) {",
        tests=["test_lookupd_options.py"],
        only=["live queue"],
    ),
    dict(
        name="sasl-authz-id-not-sent",
        why="sasl_authz_id is the identity asked of the server",
        file="common/ldapconn.c",
        old="NULL, LDAP_SASL_QUIET, sasl_interact, cfg->sasl_authz_id);",
        new="NULL, LDAP_SASL_QUIET, sasl_interact, NULL);",
        tests=["test_sasl.py"],
        only=["sasl authz id"],
    ),
    dict(
        name="sigbus-swallowed",
        why="a SIGBUS outside a guarded snapshot read still kills",
        file="lookupd/snapshot.c",
        old="\tif (si == NULL || si->si_code <= 0)\n\t\traise(sig);",
        new="\tif (si == NULL || si->si_code <= 0)\n\t\t(void)0;",
        tests=["*/t_snapshot"],
    ),
    dict(
        name="netstring-leading-zero",
        why="a netstring length with a leading zero is refused",
        file="lookupd/netstring.c",
        old="\t\tif (pos == 1 && in[0] == '0')\n\t\t\treturn NS_BAD;",
        new="\t\tif (0)\n\t\t\treturn NS_BAD;",
        tests=["t_netstring", "fuzz_netstring"],
    ),
    dict(
        name="ready-before-snapshot",
        why="READY=1 only once every map has a snapshot",
        file="lookupd/server.c",
        old="\tif (s->ready_told || !engine_ready(s->e))",
        new="\tif (s->ready_told)",
        tests=["test_notify.py"],
        only=["setup", "ready only after", "never ready"],
    ),
    dict(
        name="watchdog-once-a-period",
        why="WATCHDOG=1 at least every half of WATCHDOG_USEC",
        file="lookupd/notify.c",
        old="\t\twd_every_ms = (int64_t)(usec / 4000);",
        new="\t\twd_every_ms = (int64_t)(usec / 1000);",
        tests=["test_notify.py"],
        only=["setup", "watchdog"],
    ),
    dict(
        name="no-reloading-on-sighup",
        why="SIGHUP: RELOADING=1 with MONOTONIC_USEC, then READY=1",
        file="lookupd/server.c",
        old="\t\t\tnotify_reloading(\"reloading the configuration\");",
        new="\t\t\t(void)0;",
        tests=["test_notify.py"],
        only=["setup", "watchdog"],
    ),
    dict(
        name="metrics-file-in-place",
        why="metrics_file is replaced atomically (tmp + rename), never "
            "rewritten in place",
        file="lookupd/metricsfile.c",
        old="\tif ((fd = mkostemp(tmp, O_CLOEXEC)) < 0)",
        new="\tif (snprintf(tmp, sizeof(tmp), \"%s\", path) < 0 ||\n"
            "\t    (fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,"
            " 0644)) < 0)",
        tests=["t_metrics", "test_metrics.py"],
        only=["setup", "atomically"],
    ),
    dict(
        name="live-latency-not-counted",
        why="the latency histogram counts every lookup, live ones too",
        file="lookupd/server.c",
        old="\tlathist_add(&s->lat, clock_ns() - c->t0_ns);",
        new="\t(void)0;",
        tests=["test_metrics.py"],
        only=["setup", "known sequence"],
    ),
    dict(
        name="profile-replace-drops-all",
        why="a [map] section replaces only the profile's map of its name",
        file="common/cfg.c",
        old="\tif (cfg_map_find(cfg, pm->name, strlen(pm->name)) != NULL)\n"
            "\t\treturn 0;",
        new="\tif (cfg->n_maps > cfg->builtin_maps)\n\t\treturn 0;",
        tests=["*/t_cfg", "test_profiles.py"],
    ),
    dict(
        name="apple-forward-ignored",
        why="an apple Forward account answers its kAutoForwardValue",
        file="lookupd/maps.c",
        old="\t\tx->fwd = am->forward;",
        new="\t\t;",
        tests=["t_profile", "test_profiles.py"],
    ),
    dict(
        name="short-names-not-asked-live",
        why="a live lookup of jdoe@local.domain also asks for uid=jdoe",
        file="lookupd/maps.c",
        old="\t\t\tif (m->short_names && at != NULL && at > s &&",
        new="\t\t\tif (0 && at != NULL && at > s &&",
        tests=["t_profile", "test_profiles.py"],
    ),
    dict(
        name="file-domain-ignored",
        why="an included file's maps answer keys of its domains only",
        file="lookupd/maps.c",
        old="\tif (m->domains.n == 0 || m->kind == CFG_KIND_PLAIN)",
        new="\tif (1)",
        tests=["test_confd.py"],
    ),
    dict(
        name="no-default-folders",
        why="a maildir made in a run gets the default_folders",
        file="maildirmake/run.c",
        old="\t\t    folders->n > 0 && o->kind == MDM_MAILDIR &&",
        new="\t\t    folders->n > 0 && o->kind == MDM_SHARABLE &&",
        tests=["test_mdm_lifecycle.py"],
    ),
    dict(
        name="quota-not-applied",
        why="mailQuotaSize gives the account's maildirsize",
        file="maildirmake/run.c",
        old="\t\tif ((r = layout_quota(s->pf, &le, &q, why, "
            "sizeof(why))) == 0)",
        new="\t\tif ((r = layout_quota(s->pf, &le, &q, why, "
            "sizeof(why))) <= 1)",
        tests=["test_mdm_lifecycle.py"],
    ),
    dict(
        name="jamm-domain-ignored",
        why="an inactive or deleted Jamm domain disables its accounts' "
            "maildirs, as the mailbox is then never delivered to",
        file="maildirmake/run.c",
        old="\t\tme->domain_off = !live;",
        new="\t\tme->domain_off = 0;",
        tests=["test_mdm_profiles.py"],
    ),
    dict(
        name="apple-quota-not-mb",
        why="kUserDiskQuota is in MB: bytes = MB * 1048576",
        file="common/layout.c",
        old="\t\tq->bytes = am.quota_mb * 1048576ULL;",
        new="\t\tq->bytes = am.quota_mb * 1000000ULL;",
        tests=["t_layout", "test_mdm_profiles.py"],
    ),
    dict(
        name="orphans-inactive-not-named",
        why="--orphans: an inactive account's maildir is no orphan",
        file="maildirmake/run.c",
        old="\t\tfor (size_t k = 0; k < s->col.v[e].n_mms; k++) {",
        new="\t\tfor (size_t k = 0; k < 0; k++) {",
        tests=["test_mdm_lifecycle.py"],
    ),
    dict(
        name="orphan-mail-taken",
        why="a new account whose path holds an orphan's mail is refused "
            "and reported, unless adopt_orphans = yes",
        file="maildirmake/run.c",
        old="\t\t\tif (msgs > 0 && s->cfg->adopt_orphans) {",
        new="\t\t\tif (msgs > 0) {",
        tests=["test_mdm_lifecycle.py"],
        only=["orphans mail"],
    ),
    dict(
        name="orphan-record-by-dn",
        why="the record knows an entry by its entryUUID: the same DN "
            "deleted and made again is a new account",
        file="maildirmake/run.c",
        old="\tif (e->uuid != NULL)\n\t\treturn xprintf(\"uuid:%s\", "
            "e->uuid);",
        new="\tif (0)\n\t\treturn NULL;",
        tests=["test_mdm_lifecycle.py"],
        only=["orphans mail"],
    ),
    dict(
        name="ldaptable-star-unquoted",
        why="a key's '*' is quoted (\\2A) in an ldap_table query_filter, "
            "as Postfix's ldap: does",
        file="common/pctexpand.c",
        old="const char *special = q == PCT_QUOTE_FILTER ? \"*()\\\\\" :",
        new="const char *special = q == PCT_QUOTE_FILTER ? \"()\\\\\" :",
        tests=["t_pctexpand", "fuzz_pctexpand", "test_ldaptable_diff.py"],
        only=["howto alias"],
    ),
    dict(
        name="ldaptable-terminal-ignored",
        why="an entry with a terminal_result_attribute gives only those "
            "values, as Postfix's ldap: does",
        file="lookupd/pfldap.c",
        old="\t\t\tis_terminal = a->n > 0;",
        new="\t\t\tis_terminal = 0;",
        tests=["test_ldaptable_diff.py"],
        only=["groups"],
    ),
    dict(
        name="ldaptable-unknown-parameter",
        why="an unknown ldap_table parameter is an error naming FILE:LINE",
        file="common/ldaptable.c",
        old="\t\tif (!ok)\n\t\t\trc = errline(",
        new="\t\tif (0)\n\t\t\trc = errline(",
        tests=["*/t_ldaptable"],
    ),
    dict(
        name="matchrule-no-fold",
        why="caseIgnoreMatch compares without case",
        file="common/matchrule.c",
        old="\t\tbuf_putc(out, fold ? lower(c) : c);",
        new="\t\tbuf_putc(out, c);",
        tests=["t_matchrule", "fuzz_matchrule"],
    ),
    dict(
        name="filter-star-printed-raw",
        why="a '*' in a filter value is printed escaped (\\2a)",
        file="common/filter.c",
        old="\t\tif (c == '*' || c == '(' || c == ')' || c == '\\\\' || "
            "c < 0x20 ||",
        new="\t\tif (c == '(' || c == ')' || c == '\\\\' || c < 0x20 ||",
        tests=["t_filter", "fuzz_filter"],
    ),
    dict(
        name="tableclass-or-any-branch",
        why="an ldap_table filter with a branch without the key is "
            "live-only",
        file="common/tableclass.c",
        old="\t\t\tall &= binds(f->kids[i]);",
        new="\t\t\tall |= binds(f->kids[i]);",
        tests=["t_tableclass", "test_ldaptable_diff.py"],
        only=["classification"],
    ),
    dict(
        name="pfldap-sessions-not-shared",
        why="ldap_table maps with the same server and identity share one "
            "LDAP session",
        file="lookupd/pfldap.c",
        old="\t\tif (pool->s[i]->keylen == k.len &&",
        new="\t\tif (0 && pool->s[i]->keylen == k.len &&",
        tests=["test_ldaptable_sessions.py"],
    ),
    dict(
        name="pfldap-sessions-ignore-identity",
        why="an ldap_table map whose bind DN differs gets its own LDAP "
            "session",
        file="lookupd/pfldap.c",
        old="\tkey_str(k, c->bind_dn);\n\tkey_str(k, c->bind_pw);",
        new="",
        tests=["test_ldaptable_sessions.py"],
    ),
    dict(
        name="verify-not-paced",
        why="lookupd verify --rate N asks at most N keys per second",
        file="lookupd/verify.c",
        old="\tif (v->next_ms > now) {",
        new="\tif (0) {",
        tests=["test_verify.py"],
        only=["rate"],
    ),
    dict(
        name="verify-values-in-order",
        why="lookupd verify compares values as a set (order and repeats "
            "do not count)",
        file="lookupd/verifyrule.c",
        old="\tqsort(v, k, sizeof(*v), item_cmp);",
        new="",
        tests=["t_verifyrule"],
    ),
    dict(
        name="verify-keyfile-keys-skipped",
        why="lookupd verify -k: a key the snapshot lacks that LDAP finds "
            "is a difference",
        file="lookupd/verify.c",
        old="\t\t\tcontinue;\t/* asked with the snapshot's keys */",
        new="\t\t\tcontinue;\n\t\tcontinue;",
        tests=["test_verify.py"],
        only=["planted", "not in the snapshot"],
    ),
    dict(
        name="route-virtual-transport-ends-walk",
        why="route: a transport answer naming virtual(8) (Jamm's "
            "\"virtual:\") still goes through the mailbox map",
        file="lookupd/route.c",
        old="\treturn (n == 7 && strncmp(answer, \"virtual\", 7) == 0) ||",
        new="\treturn (n == 7 && strncmp(answer, \"virtuaX\", 7) == 0) ||",
        tests=["*/t_route", "test_route_profiles.py"],
    ),
    dict(
        name="route-relative-mailbox-not-joined",
        why="route: a relative mailbox (jamm, ox, apple) lies below "
            "mail_base (virtual_mailbox_base = mail_base)",
        file="lookupd/route.c",
        old="\tif (box[0] != '/') {",
        new="\tif (box[0] == '\\0') {",
        tests=["*/t_route", "test_route_profiles.py"],
    ),
    dict(
        name="domain-catchall-ignored",
        why="a domain map with catchall = yes answers an address by its "
            "domain (Jamm's transport map, asked the address by Postfix)",
        file="lookupd/maps.c",
        old="\tif (m->kind == CFG_KIND_DOMAIN && m->catchall &&",
        new="\tif (m->kind == CFG_KIND_PLAIN && m->catchall &&",
        tests=["*/t_maps", "fuzz_walk", "test_route_profiles.py"],
    ),
    dict(
        name="route-inactive-domain-not-named",
        why="route (jamm): a refused domain names the inactive "
            "JammVirtualDomain entry that holds it",
        file="lookupd/route.c",
        old="\tbuf_printf(&f, \")(!%s))\", lay->domain_filter);",
        new="\tbuf_printf(&f, \")(%s))\", lay->domain_filter);",
        tests=["*/t_route", "test_route_profiles.py"],
    ),
    dict(
        name="tablesnap-case-exact",
        why="an ldap_table snapshot evaluates the filter with each "
            "attribute's own equality rule from the subschema",
        file="common/tablesnap.c",
        old="\tan->equality = rule_of(s, an->name);",
        new="\tan->equality = \"caseExactMatch\";",
        tests=["*/t_tablesnap", "test_ldaptable_snapshot.py"],
        only=["snapshot howto alias"],
    ),
    dict(
        name="tablesnap-index-one-run-one-group",
        why="an ldap_table snapshot's key index splits the values that "
            "share hash bits by their coarse form: unlike values are "
            "never one group",
        file="common/tablesnap.c",
        old="\tif (!one) {\n\t\tqsort(r, j - i, sizeof(*r), cmp_kcoarse);",
        new="\tif (0) {\n\t\tqsort(r, j - i, sizeof(*r), cmp_kcoarse);",
        tests=["*/t_tablesnap"],
    ),
    dict(
        name="tablesnap-decided-the-wrong-conjuncts",
        why="of an AND, the conjuncts without the key are the server's "
            "(the read filter keeps them); those with the key are "
            "evaluated on each key's entries",
        file="common/tablesnap.c",
        old="\t\t\tif (uses_key(s->tmpl->kids[i]))\n",
        new="\t\t\tif (!uses_key(s->tmpl->kids[i]))\n",
        tests=["*/t_tablesnap", "test_ldaptable_snapshot.py"],
        only=["snapshot howto alias"],
    ),
    dict(
        name="tablesnap-dn-memo-one-for-all",
        why="an ldap_table snapshot normalizes each special value once "
            "and remembers it by the value's own text",
        file="common/tablesnap.c",
        old="\tstruct hnode *h = hget(&s->raw, v, vlen, 1);",
        new="\tstruct hnode *h = hget(&s->raw, v, 0, 1);",
        tests=["*/t_tablesnap", "test_ldaptable_snapshot.py"],
    ),
    dict(
        name="tablesnap-walk-one-view",
        why="the walk unpacks each entry into the view of its depth, so "
            "that following a member does not overwrite the group it "
            "came from",
        file="common/tablesnap.c",
        old="\t\tconst struct view *e = view_of(w->s, w->s->e[idx[k]],\n"
            "\t\t    (size_t)depth);",
        new="\t\tconst struct view *e = view_of(w->s, w->s->e[idx[k]],\n"
            "\t\t    (size_t)1);",
        tests=["*/t_tablesnap", "test_ldaptable_snapshot.py",
               "test_ldaptable_diff.py"],
    ),
    dict(
        name="tablesnap-trust-every-miss",
        why="a key the snapshot cannot prove absent (insignificant "
            "spaces, non-ASCII) is asked live, never NOTFOUND from it",
        file="lookupd/decide.c",
        old="\t\t\tcomplete &= tablesnap_key_complete(w->step[i],",
        new="\t\t\tcomplete &= 1 || tablesnap_key_complete(w->step[i],",
        tests=["test_ldaptable_snapshot.py"],
        only=["snapshot howto alias"],
    ),
    dict(
        name="import-fixed-tables-plain",
        why="lookupd import: a table Postfix walks (no %u/%d in its "
            "query) becomes kind address or domain, so that lookupd walks "
            "the keys Postfix no longer walks on a socketmap",
        file="lookupd/import.c",
        old="\tif (t != NULL && !is_fixed(t))",
        new="\tif (t != NULL)",
        tests=["test_import.py"],
        only=["five tables", "small main cf golden"],
    ),
    dict(
        name="import-params20-unfiltered",
        why="lookupd import: only ldap_table(5) parameters of the 2.0 form "
            "go into DIR/NAME.cf (transport_maps is not transport's "
            "\"maps\")",
        file="lookupd/import.c",
        old="\t\t    p->name[plen] != '_' || !ldaptable_known(p->name + plen "
            "+\n\t\t    1))",
        new="\t\t    p->name[plen] != '_' || !(1 || ldaptable_known(p->name "
            "+ plen + 1)))",
        tests=["test_import.py"],
        only=["jamm howto"],
    ),
    dict(
        name="mainscan-continuation-dropped",
        why="main.cf: a line starting with white space continues the "
            "parameter before it",
        file="common/mainscan.c",
        old="\t\t\tif (l.len > 0) {",
        new="\t\t\tif (0) {",
        tests=["*/t_mainscan", "test_import.py"],
        only=["small main cf golden"],
    ),
    dict(
        name="route-table-sources-missing",
        why="lookupd route: each value of an ldap_table answer names the "
            "entry it came from (a group's members each theirs)",
        file="lookupd/pfldap.c",
        old="\t\tif (w->sources != NULL) {",
        new="\t\tif (0) {",
        tests=["test_route_tables.py"],
        only=["group expansion"],
    ),
    dict(
        name="route-table-down-undeliverable",
        why="lookupd route: an ldap_table map whose server cannot be "
            "asked makes the route unknown (exit 2), never undeliverable",
        file="lookupd/live.c",
        old="\ta->unreachable = a->res == RES_TEMP && "
            "pfldap_unreachable(p);",
        new="\ta->unreachable = 0;",
        tests=["test_route_tables.py"],
        only=["server down"],
    ),
    dict(
        name="tables-not-polled-under-persist",
        why="with sync = persist, ldap_table maps are polled every "
            "refresh",
        file="lookupd/engine.c",
        old="\t\treturn has_tables(e->build_cr->cfg) && now >= "
            "e->next_build;",
        new="\t\treturn 0;",
        tests=["test_ldaptable_snapshot.py"],
        only=["persist polls"],
    ),
]
