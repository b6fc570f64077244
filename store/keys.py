"""Every Redis key qunbot uses, and how long each lives.

All keys of one entity share a Redis Cluster hash tag ({...}), and every Lua script and MULTI
transaction touches one hash slot (store/lua.py checks script calls when the test suite turns the
check on; tests/conftest.py checks transactions). Steps that span entities are made of one-slot
steps, each idempotent, and say why the whole is still exactly once (store/coupons.py claim,
store/streams.py ack and dead_letter).

Redis must stay bounded, so every key family (each method of `Keys`) declares its retention:
`@ttl("...")` when every write sets an expiry (the text says how long, or the docstring does), or
`@kept("...")` when the family has no TTL of its own and the text says what bounds it (a counter,
one key per configured store, entries trimmed on write, state that gets an expiry once it is done).
tests/test_retention.py fails for a method with neither, and checks the keys the suite's scenarios
leave behind: a key without a TTL must belong to a `kept` family.
The long-lived states have their own settings in [retention] (`RetentionSettings`).
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import TypeVar

from redis.crc import REDIS_CLUSTER_HASH_SLOTS, key_slot

DAY = 86400

F = TypeVar("F", bound=Callable[..., str])


@dataclass(frozen=True)
class Retention:
    kind: str  # "ttl": every write sets an expiry; "kept": bounded by the rule, no TTL of its own
    why: str


def ttl(why: str) -> Callable[[F], F]:
    def mark(fn: F) -> F:
        fn.retention = Retention("ttl", why)  # type: ignore[attr-defined]
        return fn
    return mark


def kept(rule: str) -> Callable[[F], F]:
    def mark(fn: F) -> F:
        fn.retention = Retention("kept", rule)  # type: ignore[attr-defined]
        return fn
    return mark


@dataclass(frozen=True)
class RetentionSettings:
    """[retention]: how long state that must outlive a conversation is kept."""

    coupon_grace_days: int = 30  # a code (and its campaign's records) is kept this long after it expires
    groupbuy_days: int = 90  # a 团 (lines, results, pickup state) is kept this long after it closes
    customer_days: int = 365  # per-customer state (contact, groups, wallet, greeted) after its last change


def families() -> dict[str, Retention | None]:
    """Every key-building method of Keys and its declared retention (None = undeclared)."""
    return {name: getattr(fn, "retention", None) for name, fn in vars(Keys).items()
            if callable(fn) and not name.startswith("_")}



@lru_cache(maxsize=4096)
def spread_tag(name: str, part: int, partitions: int) -> str:
    """The hash tag of partition `part` of `partitions`, chosen so its slot lies near the middle
    of the part-th equal share of the slot space: whatever the number of masters, with slots split
    evenly the partitions spread as evenly as they can over them (plain `inbox:0`, `inbox:1`…
    land wherever CRC16 puts them, several on one master as often as not)."""
    share = REDIS_CLUSTER_HASH_SLOTS / partitions
    middle = (part + 0.5) * share
    lo, hi = middle - max(share / 16, 1), middle + max(share / 16, 1)
    tag, salt = f"{name}:{part}", 0
    while not lo <= key_slot(tag.encode()) < hi:
        salt += 1
        tag = f"{name}:{part}:{salt}"
    return tag


class Keys:
    def __init__(self, prefix: str = "qb", spread: int = 0) -> None:
        self.p = prefix
        # On Redis Cluster, the number of stream partitions: their hash tags are then spread over
        # the slot space (spread_tag). 0 keeps the plain tags a single node has always used.
        self.spread = spread

    def _part(self, name: str, part: int) -> str:
        return spread_tag(name, part, self.spread) if self.spread else f"{name}:{part}"

    # -- streams (inbox / outbox), one hash tag per partition ------------------------------------
    @kept("entries every reader is done with are trimmed by the partition's owner (store/streams.py)")
    def stream(self, name: str, part: int) -> str:
        """Retention: entries every reader is done with are trimmed by the partition's owner
        (store/streams.py trim); nothing un-acked is ever trimmed, so there is no length cap."""
        return f"{self.p}:{{{self._part(name, part)}}}:s"

    @ttl("[worker] dedupe_ttl_seconds")
    def seen(self, name: str, part: int, entry_id: str) -> str:
        """Dedupe marker; TTL outlives WeCom's retries and kf re-syncs by far (config dedupe_ttl)."""
        return f"{self.p}:{{{self._part(name, part)}}}:seen:{entry_id}"

    @ttl("[worker] lease_ms, renewed by its owner")
    def lease(self, name: str, part: int) -> str:
        """Which worker owns this partition; expires when the owner stops renewing it."""
        return f"{self.p}:{{{self._part(name, part)}}}:lease"

    @ttl("one heartbeat TTL after the last consumer stops")
    def members(self, name: str) -> str:
        """ZSET of live consumers of a stream, scored by heartbeat expiry (ms, Redis clock); the
        key itself expires one heartbeat TTL after the last consumer stops."""
        return f"{self.p}:{{{name}:members}}"

    @kept("at most [worker] dead_letter_max entries and none older than dead_letter_days (store/streams.py)")
    def dead(self, name: str) -> str:
        """Dead letters of a stream. Retention: at most `[worker] dead_letter_max` entries
        (approximate cap at write time) and none older than `dead_letter_days` (trimmed by the
        partition-0 owner); replay or export them before that."""
        return f"{self.p}:{{{name}:dead}}:s"

    @ttl("[worker] dedupe_ttl_seconds")
    def dead_marker(self, name: str, part: int, entry_id: str) -> str:
        """Set when a stream entry's dead letter is stored (beside the dead letters, one slot), so
        an entry dead-lettered twice (a crash before its XACK) leaves one letter."""
        return f"{self.p}:{{{name}:dead}}:from:{part}:{entry_id}"

    # Waiting retries of the outbox (bot/sender.py). Under the partition's hash tag, so the timer's
    # script can move a due target back into that partition's stream in one step. No TTL: a held
    # entry is removed when it is sent or dead-lettered, and the due set visits every held target.
    @kept("every held target of the partition; a member leaves when its held entries are sent or dead-lettered")
    def retry_due(self, name: str, part: int) -> str:
        """ZSET target -> next try (epoch ms) of every target with held entries in this partition."""
        return f"{self.p}:{{{self._part(name, part)}}}:due"

    @kept("a target's waiting entries; emptied (and so deleted) as they are sent or dead-lettered")
    def held(self, name: str, part: int, target: str) -> str:
        """LIST of a target's entries waiting for a retry, oldest (the one being retried) first."""
        return f"{self.p}:{{{self._part(name, part)}}}:held:{target}"

    @kept("retry state of a target's first held entry; deleted with the entry it describes")
    def held_meta(self, name: str, part: int, target: str) -> str:
        """HASH of the first held entry's retry state: tries, since, done parts, maybe_sent, reason."""
        return f"{self.p}:{{{self._part(name, part)}}}:held:{target}:meta"

    @ttl("the lease's TTL, renewed by its holder (store/leases.py)")
    def singleton(self, name: str) -> str:
        """Who runs the one-per-deployment job `name` (a kf puller, the archive reader): store/leases.py."""
        return f"{self.p}:{{lease:{name}}}"

    @ttl("a day")
    def apology(self, entry_id: str) -> str:
        """The user was already told their message failed; kept a day so retries do not repeat it."""
        return f"{self.p}:apology:{entry_id}"

    # -- WeCom API client ---------------------------------------------------------------------
    @ttl("WeCom's expires_in less a minute")
    def token(self, corp_id: str, secret: str) -> str:
        digest = hashlib.sha1(secret.encode()).hexdigest()[:12]  # never put a secret in a key name
        return f"{self.p}:{{token:{corp_id}:{digest}}}"

    @ttl("held seconds while one process fetches the token")
    def token_lock(self, corp_id: str, secret: str) -> str:
        return self.token(corp_id, secret) + ":lock"

    @ttl("a minute before anyone asks gettoken again")
    def token_refused(self, corp_id: str, secret: str) -> str:
        """gettoken refused this secret (40001…): the errcode, kept a while so no one retries at once."""
        return self.token(corp_id, secret) + ":refused"

    @ttl("PEXPIRE of one send window on every take")
    def budget(self, scope: str, who: str) -> str:
        """Sliding-window send budget (ZSET of send times) for one recipient or webhook."""
        return f"{self.p}:{{budget:{scope}:{who}}}"

    @ttl("a day")
    def reported(self, what: str) -> str:
        """A configuration error already reported today; one report per day across replicas."""
        return f"{self.p}:reported:{what}"

    @ttl("the reply interval")
    def smalltalk(self, conversation: str, kind: str) -> str:
        """The message whose greeting/thanks/ack was answered last; expires after the reply interval."""
        return f"{self.p}:{{talk:{conversation}}}:{kind}"

    # -- scheduler --------------------------------------------------------------------------
    @kept("one key per scheduled job name (a fixed list)")
    def job_last(self, name: str) -> str:
        """Last fire time enqueued for a job, used to catch up after downtime."""
        return f"{self.p}:job:{name}:last"

    # -- groupbuy (接龙) ---------------------------------------------------------------------
    # One hash tag per 团: every ledger script touches only that 团's keys. The id counter and the
    # indexes below live outside it and are written idempotently around the entity scripts.
    @kept("no TTL while open (a 团 must not vanish before its cutoff); closing or 撤团 sets [retention] groupbuy_days on every part")
    def gb(self, gid: int, part: str) -> str:
        """A 团's keys: meta (hash), lines (hash no -> JSON), owners (hash owner -> [no]),
        wait (list of waiting line numbers, in order), msgs (hash message id -> result JSON)."""
        return f"{self.p}:{{gb:{gid}}}:{part}"

    @kept("one counter")
    def gb_seq(self) -> str:
        """Global counter of 团 numbers (the short number shoppers and guides type)."""
        return f"{self.p}:gb:seq"

    @kept("one set per store; a 团 leaves it when it closes")
    def gb_open(self, store_id: str) -> str:
        """Set of open 团 ids of one store; a 团 leaves it once its close result is queued."""
        return f"{self.p}:gb:open:{store_id}"

    @kept("one member per store that ever had a 团")
    def gb_stores(self) -> str:
        """Set of store ids that ever had a 团 (so every open index can be found without SCAN)."""
        return f"{self.p}:gb:stores"

    @kept("entries older than [retention] groupbuy_days are trimmed whenever a 团 is created")
    def gb_all(self) -> str:
        """ZSET of every 团 id scored by creation time, for the admin API."""
        return f"{self.p}:gb:all"

    @ttl("seven days: outlives any redelivery of the 确认")
    def gb_confirm(self, msg_id: str) -> str:
        """团 number allocated for one 确认 message, so a redelivered 确认 opens the same 团."""
        return f"{self.p}:gb:confirm:{msg_id}"

    @ttl("half an hour to confirm")
    def gb_draft(self, guide: str) -> str:
        """A guide's parsed /开团 awaiting 确认; expires so a stale draft is never confirmed."""
        return f"{self.p}:gb:draft:{guide}"

    @ttl("seven days")
    def gb_bind(self, conversation: str) -> str:
        """The 团 a shopper conversation came in for (kf link scene), preferred when several are open."""
        return f"{self.p}:gb:bind:{conversation}"

    @kept("one ZSET per store, trimmed to the last few days on every close")
    def gb_recent(self, store_id: str) -> str:
        """ZSET of a store's closed 团 by close time: shoppers still ask 在哪提货 after the cutoff."""
        return f"{self.p}:gb:recent:{store_id}"

    # -- generic -----------------------------------------------------------------------------
    @ttl("the bare-确认 window ([conversation] confirm_minutes); a day once a 确认 claimed it")
    def awaiting_confirm(self, userid: str) -> str:
        """The draft shown in this user's last exchange, which a bare 确认 means; TTL = the short
        [conversation] confirm_minutes window, and any other message in that chat clears it."""
        return f"{self.p}:{{confirm:{userid}}}"

    @ttl("a day, or the draft's own lifetime when longer (10-30 minutes today)")
    def confirm_offers(self, userid: str) -> str:
        """Hash name -> JSON of every draft this user may confirm by name (确认 开团 / 团6 / C12),
        each with its own expiry inside; the key lives as long as the longest of them."""
        return f"{self.p}:{{confirm:{userid}}}:offers"  # the pointer's slot: offer() writes both in one MULTI

    @ttl("a day: longer than any redelivery of one inbound message")
    def confirm_routed(self, msg_id: str) -> str:
        """The draft one 确认 message was found to mean, kept a day so a redelivery means the same."""
        return f"{self.p}:confirm:msg:{msg_id}"

    @ttl("[conversation] pending_minutes (5 by default)")
    def pending(self, conversation: str, feature: str) -> str:
        """A question the bot asked in a conversation and waits to hear answered (store/pending.py);
        TTL = [conversation] pending_minutes."""
        return f"{self.p}:pending:{feature}:{conversation}"

    @ttl("a day: longer than any retry of one outbox entry")
    def parts_sent(self, part: int, entry_id: str) -> str:
        """How many parts of a split outbox entry were delivered, so a retry resumes after them.
        Keyed by partition too: two partitions' streams hand out the same ids in one millisecond."""
        return f"{self.p}:out:parts:{part}:{entry_id}"

    # -- catalog (one entity: every catalog key shares the {catalog} hash tag) -------------------
    @kept("the catalog itself: replaced by each import, edited in place")
    def catalog_items(self) -> str:
        """Hash "<sku>@<stores or *>" -> product JSON; per-store rows override the * row in their stores."""
        return f"{self.p}:{{catalog}}:items"

    @kept("the FAQ: replaced by each import")
    def catalog_faq(self) -> str:
        return f"{self.p}:{{catalog}}:faq"

    @kept("one counter")
    def catalog_version(self) -> str:
        """Bumped by every change; each process refreshes its in-memory indexes when it moves."""
        return f"{self.p}:{{catalog}}:version"

    @kept("the last store.catalog.CHANGES_KEPT edits (LTRIM by each edit)")
    def catalog_changes(self) -> str:
        """List of the latest guide edits, JSON {v: version, f: [row fields]}, trimmed to the last
        store.catalog.CHANGES_KEPT: a process a few edits behind reads only the rows they touched."""
        return f"{self.p}:{{catalog}}:changes"

    @ttl("three days: longer than any redelivery of the edit command")
    def catalog_edit(self, msg_id: str) -> str:
        """One guide edit's {before, after} rows, kept under its message id: a redelivered
        command changes nothing and confirms the same change."""
        return f"{self.p}:{{catalog}}:edit:{msg_id}"

    # -- Q&A conversations ---------------------------------------------------------------------
    @ttl("the hint interval")
    def qa_hint(self, conversation: str) -> str:
        """Set while a shopper's 1:1 conversation was lately given the "ask me like this" hint."""
        return f"{self.p}:qa:hint:{conversation}"

    # -- demand signals, one entity per business day -------------------------------------------
    @ttl("60 days of trend history")
    def demand_index(self, day: str) -> str:
        """Set of "<kind>|<store>|<item>" seen that day (kind u = unmet/out of stock, w = wish list)."""
        return f"{self.p}:{{dm:{day}}}:idx"

    @ttl("60 days of trend history")
    def demand_askers(self, day: str, kind: str, store: str, item: str) -> str:
        """Unique shoppers who asked: a set, so asking twice counts once."""
        return f"{self.p}:{{dm:{day}}}:who:{kind}:{store}:{item}"

    @ttl("60 days of trend history")
    def demand_examples(self, day: str, kind: str, store: str, item: str) -> str:
        return f"{self.p}:{{dm:{day}}}:ex:{kind}:{store}:{item}"

    @ttl("60 days of trend history")
    def demand_guides(self, day: str, kind: str, store: str, item: str) -> str:
        """Hash guide -> askers attributed to that guide's groups."""
        return f"{self.p}:{{dm:{day}}}:guide:{kind}:{store}:{item}"

    @ttl("60 days of trend history")
    def demand_sources(self, day: str, kind: str, store: str, item: str) -> str:
        """Hash source (kf | group) -> askers who asked there."""
        return f"{self.p}:{{dm:{day}}}:src:{kind}:{store}:{item}"

    # -- digest: one hash tag per business day ----------------------------------------------------
    @ttl("60 days of history; a recipient's send lock two minutes")
    def digest_day(self, day: str, part: str) -> str:
        """A business day's digest keys, all under {dg:<day>}: snap (hash: inputs, totals, frozen_at;
        written once at the freeze), sent (hash recipient -> when its digest was queued), po (hash
        scope -> purchasing request body), po_done (hash scope -> when the purchasing system took it),
        lock:<recipient> (one sender at a time while a digest is queued)."""
        return f"{self.p}:{{dg:{day}}}:{part}"

    @kept("one field per configured digest recipient")
    def digest_seen(self) -> str:
        """Hash recipient -> when it was first configured: catch-up never sends it older digests."""
        return f"{self.p}:dg:seen"

    # -- coupons ------------------------------------------------------------------------------------
    # Everything one campaign's claim/redeem/stop scripts touch shares the hash tag {cp:<id>}, so each
    # script runs in one slot. Cross-campaign indexes (code -> campaign, a shopper's wallet, a store's
    # campaigns) live in their own slots and are written outside the scripts; see store/coupons.py.
    @kept("one counter")
    def coupon_seq(self) -> str:
        """Counter behind the short campaign ids (C1, C2, ...)."""
        return f"{self.p}:{{cpseq}}"

    @kept("a draft expires in a day; a live campaign has no TTL while it can issue codes; once it has an end date, is stopped or sold out, every key of the campaign expires at its last code's expiry + [retention] coupon_grace_days")
    def coupon_meta(self, cid: str) -> str:
        """Campaign hash: rule record, owner store, state, issued/redeemed counters. Drafts expire."""
        return f"{self.p}:{{cp:{cid}}}:meta"

    @kept("lives and expires with its campaign (coupon_meta); bounded by the campaign's stock")
    def coupon_holders(self, cid: str) -> str:
        """Hash shopper -> comma-separated codes they hold in this campaign (the per-person limit)."""
        return f"{self.p}:{{cp:{cid}}}:holders"

    @ttl("the code's expiry + [retention] coupon_grace_days, redeemed or not")
    def coupon_code(self, cid: str, code: str) -> str:
        """One code's record: holder, issue/expiry times, state, redemption (order no, who, when)."""
        return f"{self.p}:{{cp:{cid}}}:c:{code}"

    @kept("lives and expires with its campaign (coupon_meta); one entry per issued code")
    def coupon_expiry(self, cid: str) -> str:
        """ZSET code -> expires_at, scanned by the expiry reminder job."""
        return f"{self.p}:{{cp:{cid}}}:exp"

    @kept("lives and expires with its campaign (coupon_meta); one entry per issued code")
    def coupon_claims(self, cid: str) -> str:
        """Hash inbound message id -> code issued for it, so a redelivered message gets the same code."""
        return f"{self.p}:{{cp:{cid}}}:msgs"

    @kept("lives and expires with its campaign (coupon_meta); a few events per code")
    def coupon_log(self, cid: str) -> str:
        """Stream of issue and redeem events (who, when, which message or order)."""
        return f"{self.p}:{{cp:{cid}}}:log"

    @kept("32 hashes; a code's entry is removed by the daily coupon job once the code is past expiry + [retention] coupon_grace_days (coupon_code_expiry)")
    def coupon_code_index(self, code: str) -> str:
        """Hash code -> campaign id, sharded by the code's first symbol (32 slots, no hot key)."""
        return f"{self.p}:{{cpidx:{code[:1]}}}"

    @kept("32 ZSETs beside the code index, pruned with it by the daily coupon job")
    def coupon_code_expiry(self, code: str) -> str:
        """ZSET code -> when its code-index entry may be removed (expiry + grace), same shard and slot."""
        return f"{self.p}:{{cpidx:{code[:1]}}}:exp"

    @ttl("[retention] customer_days after the newest claim, or the newest code's expiry + grace if later; older entries are trimmed on each claim")
    def coupon_wallet(self, shopper: str) -> str:
        """ZSET '<campaign>|<code>' -> issued_at: one shopper's codes for 我的券."""
        return f"{self.p}:{{cpw:{shopper}}}"

    @kept("one ZSET per store; campaigns whose records expired are pruned whenever a campaign goes live there")
    def coupon_store(self, store_id: str) -> str:
        """ZSET campaign id -> created_at of campaigns usable in a store ('*' = all-store campaigns)."""
        return f"{self.p}:{{cps:{store_id}}}"

    @kept("one ZSET per store of live campaigns only (removed on stop, end or sell-out)")
    def coupon_live(self, store_id: str) -> str:
        """ZSET of live campaign ids claimable in a store ('*' = all-store campaigns)."""
        return f"{self.p}:{{cpl:{store_id}}}"

    @kept("live campaigns only (removed on stop, end or sell-out)")
    def coupon_live_all(self) -> str:
        """ZSET of every live campaign, for the reminder job."""
        return f"{self.p}:{{cplive}}"

    @ttl("the ten-minute confirmation window")
    def coupon_draft(self, userid: str) -> str:
        """The campaign a guide created and has not confirmed yet; TTL = the confirmation window."""
        return f"{self.p}:cpdraft:{userid}"

    @ttl("a day")
    def coupon_msg(self, msg_id: str) -> str:
        """What a guide's /发券 or 确认 message already did (kept a day), so a redelivery repeats it."""
        return f"{self.p}:cpmsg:{msg_id}"

    @kept("one field per store")
    def coupon_welcome(self) -> str:
        """Hash store id -> campaign id of the store's welcome coupon."""
        return f"{self.p}:{{cpwelcome}}"

    @kept("one ZSET per store; decisions older than [retention] customer_days are trimmed on each new one")
    def coupon_greeted(self, store_id: str) -> str:
        """ZSET shopper -> when their first-talk welcome grant was decided (granted or not eligible)."""
        return f"{self.p}:{{cpg:{store_id}}}:at"

    @ttl("47 hours, inside kf's 48 h reply window")
    def coupon_seen(self, shopper: str) -> str:
        """Where and when a kf shopper last wrote; TTL just under kf's 48 h reply window."""
        return f"{self.p}:cpseen:{shopper}"

    # -- shopper channels: kf pull, customer groups, handoff, group posts --------------------------
    # Per kf account {kf:<open_kfid>}: the pull cursor, its lock and the "pull again" flag, so the
    # lock scripts touch one slot. Per conversation {kfc:kf:<open_kfid>:<external_userid>}: the
    # shopper's context, reply window and handoff. Per customer group {grp:<chat_id>}: members,
    # meta and the daily post claims. Reverse indexes live in their own slots, written idempotently.
    @kept("one hash per configured kf account")
    def kf_cursor(self, open_kfid: str) -> str:
        """Hash: cursor (kf/sync_msg next_cursor) and since (skip history older than this). No TTL."""
        return f"{self.p}:{{kf:{open_kfid}}}:cursor"

    @ttl("the pull lease")
    def kf_lock(self, open_kfid: str) -> str:
        """One puller per kf account; expires so a crashed puller never blocks the next."""
        return f"{self.p}:{{kf:{open_kfid}}}:lock"

    @ttl("ten minutes, a kf sync token's life")
    def kf_again(self, open_kfid: str) -> str:
        """A callback arrived while the lock was held: the holder pulls once more (value: its token)."""
        return f"{self.p}:{{kf:{open_kfid}}}:again"

    @ttl("a week, then fetched again")
    def kf_name(self, external_userid: str) -> str:
        """The shopper's WeChat nickname from kf/customer/batchget; refreshed after a week."""
        return f"{self.p}:kfname:{external_userid}"

    @ttl("a month")
    def kf_link(self, open_kfid: str, scene: str) -> str:
        """kf/add_contact_way URL for (kf account, scene); links do not expire, cached a month."""
        return f"{self.p}:kflink:{open_kfid}:{scene}"

    @ttl("ctx 90 days, pending a day, lines two days, win and ho the kf reply and handoff windows")
    def shopper(self, conversation: str, part: str) -> str:
        """A kf conversation's keys: ctx (hash: scene, scene_param, scene_at, chosen store, asked),
        pending (message held while asking the store), lines (recent shopper lines, capped),
        win (kf reply window: last customer message time, replies since), ho (active handoff)."""
        return f"{self.p}:{{kfc:{conversation}}}:{part}"

    @ttl("[retention] customer_days after the contact was added or last looked up")
    def customer(self, external_userid: str) -> str:
        """Hash: which store / guide a customer added as a WeCom contact, and when."""
        return f"{self.p}:{{cust:{external_userid}}}"

    @kept("one counter")
    def handoff_seq(self) -> str:
        """Counter behind the short handoff numbers guides type (/结束 12)."""
        return f"{self.p}:ho:seq"

    @ttl("the handoff window + a day")
    def handoff_ticket(self, ticket: int) -> str:
        """Handoff number -> conversation; outlives the handoff by a day so late /结束 still resolves."""
        return f"{self.p}:ho:t:{ticket}"

    @ttl("the handoff window + a day, refreshed by each handoff, which also trims timed-out entries")
    def handoff_guide(self, userid: str) -> str:
        """ZSET of a guide's handoff numbers by start time, so a bare /结束 finds the latest."""
        return f"{self.p}:ho:g:{userid}"

    @kept("one pair per tracked customer group; a dismissed group's meta expires after [retention] customer_days")
    def group(self, chat_id: str, part: str) -> str:
        """A customer group's keys: meta (hash owner, name, version, status, synced_at) and
        members (hash member id -> join time)."""
        return f"{self.p}:{{grp:{chat_id}}}:{part}"

    @ttl("two days")
    def group_post_day(self, chat_id: str, day: str) -> str:
        """Which post used the group's one 群发 of that local day (WeCom allows one per day)."""
        return f"{self.p}:{{grp:{chat_id}}}:post:{day}"

    @ttl("[retention] customer_days after the member's last membership change or lookup; emptied, and so deleted, when they leave every group")
    def member_groups(self, member: str) -> str:
        """Hash chat id -> join time: the known groups one customer is in."""
        return f"{self.p}:{{grpm:{member}}}"

    @kept("live groups only (removed on dismiss)")
    def groups_known(self) -> str:
        """Set of every customer group id the bot tracks."""
        return f"{self.p}:grp:known"

    @ttl("three days")
    def group_post_plan(self, store_id: str, origin: str) -> str:
        """A group post's plan (owners, chat ids, link, task ids) between creation and delivery."""
        return f"{self.p}:gpost:{store_id}:{origin}"

    # -- chat archive (会话内容存档) reader: one entity per corp {arc:<corp>} -------------------------
    # The cursor, the reader's lease and the wake flag share the corp's hash tag, so the fenced cursor
    # save (store/archive.py) touches one slot. Group text lives only in archive_lines, for keep_days.
    @kept("one hash per corp (the GetChatData seq cursor)")
    def archive_cursor(self, corp_id: str) -> str:
        """Hash: seq (largest seq whose batch is in the inbox) and at (when it was saved)."""
        return f"{self.p}:{{arc:{corp_id}}}:cursor"

    @ttl("[archive] lease_ms, renewed by the running reader")
    def archive_lease(self, corp_id: str) -> str:
        """Which process reads the corp's archive; expires when its reader stops renewing it."""
        return f"{self.p}:{{arc:{corp_id}}}:lease"

    @ttl("a minute: a msgaudit_notify nobody took is covered by the safety pull")
    def archive_wake(self, corp_id: str) -> str:
        """LIST holding one token while a msgaudit_notify waits for the reader (BLPOP)."""
        return f"{self.p}:{{arc:{corp_id}}}:wake"

    @kept("at most store.archive.POISON_KEPT entries (capped on write); ids and reasons only, no text")
    def archive_poison(self, corp_id: str) -> str:
        """Stream of archive items that were skipped (seq, msgid, publickey_ver, reason)."""
        return f"{self.p}:{{arc:{corp_id}}}:poison"

    @ttl("[archive] keep_days after the group's last line; older lines trimmed on every write")
    def archive_lines(self, chat_id: str) -> str:
        """ZSET of a store group's recent lines (JSON: msgid, from, time, text) by msgtime: what the
        group features may look back at. The only place group text is kept beyond the inbox."""
        return f"{self.p}:{{grp:{chat_id}}}:lines"

    @ttl("twice [archive] consent_check_seconds")
    def archive_consent(self, chat_id: str) -> str:
        """Hash: agree/disagree/default counts from msgaudit/check_room_agree and when they were asked."""
        return f"{self.p}:{{grp:{chat_id}}}:consent"

    # -- 智能机器人 long connection (bot/aibot_ws.py) ----------------------------------------------
    # One hash tag per bot: the lease and the reply stream of one bot sit in one slot.
    @ttl("[wecom.aibot] lease_ms, renewed by the process holding the connection")
    def aibot_ws_lease(self, bot_id: str) -> str:
        """Which process holds the bot's one WebSocket to WeCom; expires when it stops renewing."""
        return f"{self.p}:{{aibot:{bot_id}}}:lease"

    @kept("an entry is deleted once WeCom acks its frame or it is dead-lettered; MAXLEN caps it on write (store/aibot_ws.py)")
    def aibot_ws_replies(self, bot_id: str) -> str:
        """Stream of reply frames waiting for the connection holder to send them over the socket."""
        return f"{self.p}:{{aibot:{bot_id}}}:replies"

    # -- listening to customer groups (会话内容存档 lines, handlers/groupbuy/listen.py) -------------
    @ttl("three days: longer than any redelivery of one archived message")
    def listen_plan(self, msg_id: str) -> str:
        """The 接龙 steps one pasted list was read as, fixed at its first delivery, so a redelivery
        replays the same steps (each idempotent by its own id) instead of re-reading a changed ledger."""
        return f"{self.p}:ls:plan:{msg_id}"

    @ttl("[listen] text_days (group text is kept no longer than the features need it)")
    def listen_batch(self, chat_id: str) -> str:
        """LIST of questions heard in one customer group and not yet sent to its guide (JSON each)."""
        return f"{self.p}:{{lsq:{chat_id}}}:q"

    @ttl("three days: longer than any redelivery of one archived message")
    def listen_queued(self, chat_id: str, msg_id: str) -> str:
        """Set once a message's question was queued for the guide, so a redelivery queues it once."""
        return f"{self.p}:{{lsq:{chat_id}}}:m:{msg_id}"

    @kept("one member per customer group with questions waiting; removed when its batch is sent")
    def listen_due(self) -> str:
        """ZSET chat id -> when its batch is due (the first question's minute ends)."""
        return f"{self.p}:ls:due"

    @ttl("[listen] roster post times last as long as the 团, at most 30 days")
    def listen_roster_times(self, gid: int) -> str:
        """Hash "HH:MM" -> 1: when the guide wants the 团's roster posted to the groups (/接龙单 … 定时)."""
        return f"{self.p}:ls:rt:{gid}"

    @kept("one member per 团 with roster post times; removed when the 团 is no longer open")
    def listen_roster_groups(self) -> str:
        """Set of 团 ids that have roster post times."""
        return f"{self.p}:ls:rtg"

    # -- 群发 quota (WeCom: per customer group per month / week / day, the tenant's choice) ---------
    @ttl("the quota period + two days")
    def group_post_quota(self, chat_id: str, period: str) -> str:
        """Hash post id -> record: the 群发 that used one of the group's posts of `period`
        (month 202612, ISO week 2026W49 or day 20261205)."""
        return f"{self.p}:{{grp:{chat_id}}}:quota:{period}"
