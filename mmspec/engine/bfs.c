/* mmspec compiled breadth-first search: the driver around the generated step functions.
 *
 * Generic: it knows nothing of the kernel. The generated part above this text defines the
 * state layout (NLEAF leaves packed into NW 64-bit words: PACK_W/PACK_SH/PACK_BITS/LEAF_LO/
 * LEAF_HI), the action templates (NT of them; GUARD[t] and BODY[t], with T_NSLOT[t] reclaim
 * choice slots of T_NCAND[t][k] candidates), the outputs of a step (o[]: post-state leaves,
 * ok/zone/block, NTAG coverage tag counts, per slot "reached" and per candidate "eligible",
 * and per check witness/bad_step/accept), and the per-state predicates STATEP (per check:
 * the liveness region "stay" and bad_state).
 *
 * Discovery order is the Python explorer's (mmspec/explore.py): states are expanded in
 * arena order (the arena is the BFS queue), templates in order, reclaim choices depth first
 * in candidate order, a successor is stored when first seen. So parent pointers, shortest
 * traces and every count are the Python engine's, state for state.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MM_RUNNING 0
#define MM_DONE 1
#define MM_CAP 2
#define MM_RANGE 3
#define MM_MEMORY 4
#define MM_NOMEM 5

typedef struct {
    uint64_t *keys;          /* NW words per state, in discovery (BFS) order */
    int32_t *parent;         /* parent index, -1 for an initial state */
    ACTION_T *action;        /* action code of the transition that discovered the state */
    int64_t n, cap;
    uint32_t *table;         /* open addressing: state index + 1, 0 = empty */
    uint64_t tcap;
    int64_t head, level_end, depth, generated;
    int64_t max_states;      /* 0 = none */
    int64_t max_bytes;       /* 0 = none: the memory guard */
    int status;
    int err_leaf;
    int64_t err_value, err_state;
    int64_t wcount[NCHK1];
    int64_t wfirst[NCHK1][3];
    int64_t bfirst[NCHK1][3];
    int64_t tagcount[NTAG1];
    int64_t *edges;          /* liveness: (pre, code, post, check*2 + accept) per edge */
    int64_t nedges, edgecap;
    struct Succ *succ;       /* the successors of the state being expanded, in order */
    int64_t nsucc, succcap;
} Ctx;

/* One successor, computed before any of them is looked up (so the table slots can be
 * fetched from memory meanwhile): packed key, hash, action code, tags and check outputs. */
#define NSOUT (NTAG + 3 * NCHK)
typedef struct Succ {
    uint64_t key[NW];
    uint64_t h;
    ACTION_T code;
    int64_t out[NSOUT > 0 ? NSOUT : 1];
} Succ;

static inline uint64_t mm_hash(const uint64_t *k) {
    uint64_t h = 0x9E3779B97F4A7C15ull;
    for (int w = 0; w < NW; w++) {
        h ^= k[w];
        h *= 0xff51afd7ed558ccdull;
        h ^= h >> 32;
    }
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 29;
    return h;
}

void mm_pack(const int32_t *s, uint64_t *k) { PACK_BODY }

void mm_unpack(const uint64_t *k, int32_t *s) { UNPACK_BODY }

static inline int key_eq(const uint64_t *a, const uint64_t *b) {
    for (int w = 0; w < NW; w++)
        if (a[w] != b[w]) return 0;
    return 1;
}

/* A table entry holds the state index + 1 in its low IDXBITS bits and a few bits of the
 * key's hash above them, so most probes that do not match never touch the arena. */
#define IDXBITS 28
#define IDXMASK ((1u << IDXBITS) - 1u)
#define MAXSTATES ((int64_t)IDXMASK - 1)
static inline uint32_t tag_of(uint64_t h) { return (uint32_t)(h >> 60) << IDXBITS; }

static int64_t bytes_of(const Ctx *c, int64_t cap, uint64_t tcap) {
    return cap * (int64_t)(sizeof(uint64_t) * NW + sizeof(int32_t) + sizeof(ACTION_T))
           + (int64_t)tcap * (int64_t)sizeof(uint32_t) + c->edgecap * 4 * (int64_t)sizeof(int64_t);
}

int64_t mm_bytes(const Ctx *c) { return bytes_of(c, c->cap, c->tcap); }

static int64_t lookup_h(const Ctx *c, const uint64_t *k, uint64_t h, uint64_t *slot) {
    uint64_t mask = c->tcap - 1, i = h & mask;
    uint32_t tag = tag_of(h);
    for (;;) {
        uint32_t e = c->table[i];
        if (!e) {
            *slot = i;
            return -1;
        }
        if ((e & ~IDXMASK) == tag) {
            int64_t idx = (int64_t)(e & IDXMASK) - 1;
            if (key_eq(c->keys + (uint64_t)idx * NW, k)) return idx;
        }
        i = (i + 1) & mask;
    }
}

static inline int64_t lookup(const Ctx *c, const uint64_t *k, uint64_t *slot) {
    return lookup_h(c, k, mm_hash(k), slot);
}

int64_t mm_lookup(const Ctx *c, const uint64_t *k) {
    uint64_t slot;
    return lookup(c, k, &slot);
}

static int grow(Ctx *c) {
    if (c->n >= c->cap) {
        int64_t nc = c->cap + c->cap / 2 + 1024;
        if (nc > MAXSTATES) nc = MAXSTATES;
        if (c->n >= nc) return MM_NOMEM;
        if (c->max_bytes && bytes_of(c, nc, c->tcap) > c->max_bytes) return MM_MEMORY;
        uint64_t *k = realloc(c->keys, sizeof(uint64_t) * NW * nc);
        if (!k) return MM_NOMEM;
        c->keys = k;
        int32_t *p = realloc(c->parent, sizeof(int32_t) * nc);
        if (!p) return MM_NOMEM;
        c->parent = p;
        ACTION_T *a = realloc(c->action, sizeof(ACTION_T) * nc);
        if (!a) return MM_NOMEM;
        c->action = a;
        c->cap = nc;
    }
    if ((uint64_t)(c->n + 1) * 4 > c->tcap * 3) {
        uint64_t nt = c->tcap * 2;
        if (c->max_bytes && bytes_of(c, c->cap, nt) > c->max_bytes) return MM_MEMORY;
        uint32_t *t = calloc(nt, sizeof(uint32_t));
        if (!t) return MM_NOMEM;
        free(c->table);
        c->table = t;
        c->tcap = nt;
        uint64_t mask = nt - 1;
        for (int64_t j = 0; j < c->n; j++) {
            uint64_t h = mm_hash(c->keys + (uint64_t)j * NW), i = h & mask;
            while (t[i]) i = (i + 1) & mask;
            t[i] = (uint32_t)(j + 1) | tag_of(h);
        }
    }
    return 0;
}

/* Store a new state (absent from the table, whose free slot for it is `slot` unless the
 * table grows); returns its index (or -1 with c->status set). */
static int64_t insert(Ctx *c, const uint64_t *k, uint64_t h, uint64_t slot, int64_t parent,
                      ACTION_T code) {
    uint64_t tcap = c->tcap;
    int r = grow(c);
    if (r) {
        c->status = r;
        return -1;
    }
    if (c->tcap != tcap) lookup_h(c, k, h, &slot);    /* rehashed: find the slot again */
    int64_t idx = c->n++;
    memcpy(c->keys + (uint64_t)idx * NW, k, sizeof(uint64_t) * NW);
    c->parent[idx] = (int32_t)parent;
    c->action[idx] = code;
    c->table[slot] = (uint32_t)(idx + 1) | tag_of(h);
    return idx;
}

Ctx *mm_new(const int32_t *init, int64_t max_states, int64_t max_bytes, int64_t hint) {
    Ctx *c = calloc(1, sizeof(Ctx));
    if (!c) return 0;
    c->max_states = max_states;
    c->max_bytes = max_bytes;
    c->tcap = 1024;
    while (c->tcap * 3 < (uint64_t)hint * 4) c->tcap *= 2;
    c->table = calloc(c->tcap, sizeof(uint32_t));
    for (int i = 0; i < NCHK1; i++) {
        c->wfirst[i][0] = -2;
        c->bfirst[i][0] = -2;
    }
    uint64_t k[NW], slot;
    mm_pack(init, k);
    uint64_t h = mm_hash(k);
    lookup_h(c, k, h, &slot);
    insert(c, k, h, slot, -1, 0);
    c->level_end = c->n;
    return c;
}

void mm_free(Ctx *c) {
    if (!c) return;
    free(c->keys);
    free(c->parent);
    free(c->action);
    free(c->table);
    free(c->edges);
    free(c->succ);
    free(c);
}

static void add_edge(Ctx *c, int64_t pre, ACTION_T code, int64_t post, int64_t tag) {
    if (c->nedges >= c->edgecap) {
        int64_t nc = c->edgecap * 2 + 1024;
        int64_t *e = realloc(c->edges, sizeof(int64_t) * 4 * nc);
        if (!e) {
            c->status = MM_NOMEM;
            return;
        }
        c->edges = e;
        c->edgecap = nc;
    }
    int64_t *e = c->edges + 4 * c->nedges++;
    e[0] = pre;
    e[1] = (int64_t)code;
    e[2] = post;
    e[3] = tag;
}

/* Action code: template index, then per slot (choice + 1, 0 = not used) in mixed radix. */
static ACTION_T encode_action(int t, const int32_t *ch, const int64_t *o) {
    ACTION_T code = 0;
    for (int k = T_NSLOT[t] - 1; k >= 0; k--) {
        int d = o[OFF_NEED + k] ? ch[k] + 1 : 0;
        code = code * (ACTION_T)(T_NCAND[t][k] + 1) + (ACTION_T)d;
    }
    return code * (ACTION_T)NT + (ACTION_T)t;
}

/* Phase 1: one complete successor of the state being expanded, in discovery order. */
static void collect(Ctx *c, int t, const int32_t *ch, const int64_t *o) {
    int32_t post[NLEAF1];
    for (int i = 0; i < NLEAF; i++) {
        int64_t v = o[i];
        if (v < LEAF_LO[i] || v > LEAF_HI[i]) {
            c->status = MM_RANGE;
            c->err_leaf = i;
            c->err_value = v;
            c->err_state = c->head;
            return;
        }
        post[i] = (int32_t)v;
    }
    if (c->nsucc >= c->succcap) {
        int64_t nc = c->succcap * 2 + 64;
        struct Succ *b = realloc(c->succ, sizeof(struct Succ) * nc);
        if (!b) {
            c->status = MM_NOMEM;
            return;
        }
        c->succ = b;
        c->succcap = nc;
    }
    struct Succ *e = c->succ + c->nsucc++;
    mm_pack(post, e->key);
    e->h = mm_hash(e->key);
    __builtin_prefetch(c->table + (e->h & (c->tcap - 1)));
    e->code = encode_action(t, ch, o);
    for (int i = 0; i < NTAG; i++) e->out[i] = o[OFF_TAG + i];
    for (int i = 0; i < 3 * NCHK; i++) e->out[NTAG + i] = o[OFF_CHK + i];
}

/* Phase 2: store the successors and record what the checks saw, in discovery order. */
static void commit(Ctx *c, const int64_t *pre_sp, int any_stay) {
    for (int64_t j = 0; j < c->nsucc && c->status == MM_RUNNING; j++) {
        const struct Succ *e = c->succ + j;
        c->generated++;
        for (int i = 0; i < NTAG; i++) c->tagcount[i] += e->out[i];
        uint64_t slot;
        int64_t idx = lookup_h(c, e->key, e->h, &slot);
        int isnew = idx < 0;
        if (isnew) {
            idx = insert(c, e->key, e->h, slot, c->head, e->code);
            if (idx < 0) return;
        }
        int64_t post_sp[2 * NCHK1];
        int have_sp = 0;
        if (any_stay || (isnew && ANY_BADSTATE)) {
            int32_t post[NLEAF1];
            mm_unpack(e->key, post);
            STATEP(post, post_sp);
            have_sp = 1;
        }
        for (int i = 0; i < NCHK; i++) {
            const int64_t *q = e->out + NTAG + 3 * i;
            if (q[0]) {
                c->wcount[i]++;
                if (c->wfirst[i][0] == -2) {
                    c->wfirst[i][0] = c->head;
                    c->wfirst[i][1] = (int64_t)e->code;
                    c->wfirst[i][2] = idx;
                }
            }
            int bad = CHK_BADSTATE[i] ? (isnew && have_sp && post_sp[2 * i + 1]) : (q[1] != 0);
            if (bad && c->bfirst[i][0] == -2) {
                c->bfirst[i][0] = c->head;
                c->bfirst[i][1] = (int64_t)e->code;
                c->bfirst[i][2] = idx;
            }
            if (CHK_LIVE[i] && pre_sp[2 * i] && have_sp && post_sp[2 * i])
                add_edge(c, c->head, e->code, idx, 2 * i + (q[2] != 0));
        }
    }
}

/* Depth-first enumeration of a template's reclaim choices (the Python explorer's order):
 * after BODY[t] ran on the choice vector `ch` (-1 = unset), push the vectors that fix its
 * first reached, unset slot to each eligible candidate (last candidate deepest, so the
 * first is popped first) and return 1; return 0 if `ch` is complete (a successor). */
static int push_choices(int t, const int32_t *ch, const int64_t *o,
                        int32_t stack[][NSLOTMAX1], int *sp) {
    int ns = T_NSLOT[t];
    int open = -1;
    for (int k = 0; k < ns; k++)
        if (o[OFF_NEED + k] && ch[k] < 0) {
            open = k;
            break;
        }
    if (open < 0) return 0;
    const int64_t *el = o + OFF_ELIG + open * NCANDMAX;
    for (int i = T_NCAND[t][open] - 1; i >= 0; i--) {
        if (!el[i]) continue;
        memcpy(stack[*sp], ch, sizeof(int32_t) * ns);
        stack[*sp][open] = i;
        (*sp)++;
    }
    return 1;
}

static void expand(Ctx *c, const int32_t *s) {
    int64_t o[NOUT1];
    int64_t sp[2 * NCHK1];
    STATEP(s, sp);
    int any_stay = 0;
    for (int i = 0; i < NCHK; i++)
        if (CHK_LIVE[i] && sp[2 * i]) any_stay = 1;
    int32_t stack[MAXSTACK1][NSLOTMAX1];
    c->nsucc = 0;
    for (int t = 0; t < NT && c->status == MM_RUNNING; t++) {
        if (!GUARD[t](s)) continue;
        int ns = T_NSLOT[t];
        if (ns == 0) {
            BODY[t](s, 0, o);
            collect(c, t, 0, o);
            continue;
        }
        int sp_ = 0;
        for (int k = 0; k < ns; k++) stack[0][k] = -1;
        sp_ = 1;
        while (sp_ > 0 && c->status == MM_RUNNING) {
            int32_t ch[NSLOTMAX1];
            memcpy(ch, stack[--sp_], sizeof(int32_t) * ns);
            BODY[t](s, ch, o);
            if (!push_choices(t, ch, o, stack, &sp_)) collect(c, t, ch, o);
        }
    }
    if (c->status == MM_RUNNING) commit(c, sp, any_stay);
}

/* Expand up to `budget` states; returns the status (MM_RUNNING: call again). */
int mm_run(Ctx *c, int64_t budget) {
    int32_t s[NLEAF1];
    while (c->status == MM_RUNNING && budget-- > 0) {
        if (c->head >= c->n) {
            c->status = MM_DONE;
            break;
        }
        mm_unpack(c->keys + (uint64_t)c->head * NW, s);
        expand(c, s);
        if (c->status != MM_RUNNING) break;
        c->head++;
        if (c->max_states && c->n >= c->max_states) {
            c->status = MM_CAP;
            break;
        }
        if (c->head == c->level_end) {
            if (c->n > c->level_end) c->depth++;
            c->level_end = c->n;
        }
    }
    if (c->status == MM_RUNNING && c->head >= c->n) c->status = MM_DONE;
    return c->status;
}

int64_t mm_stat(const Ctx *c, int which) {
    switch (which) {
    case 0: return c->n;
    case 1: return c->generated;
    case 2: return c->depth;
    case 3: return c->status;
    case 4: return c->head;
    case 5: return c->err_leaf;
    case 6: return c->err_value;
    case 7: return c->err_state;
    case 8: return c->nedges;
    case 9: return mm_bytes(c);
    case 10: return c->level_end;
    }
    return -1;
}

int64_t mm_check(const Ctx *c, int i, int which) {
    if (which == 0) return c->wcount[i];
    if (which <= 3) return c->wfirst[i][which - 1];
    return c->bfirst[i][which - 4];
}

/* Liveness: the position, among the recorded edges of liveness check `chk` (in discovery
 * order), of the first accepting edge whose two ends lie in one strongly connected
 * component of the graph of those edges; -1 if there is none (no lasso). Components by an
 * iterative Tarjan over the state indices (membership does not depend on the algorithm). */
int64_t mm_first_lasso_edge(const Ctx *c, int chk) {
    int64_t n = c->n, m = 0;
    for (int64_t j = 0; j < c->nedges; j++)
        if ((c->edges[4 * j + 3] >> 1) == chk) m++;
    if (!m) return -1;
    int64_t *start = calloc(n + 1, sizeof(int64_t));
    int64_t *adj = malloc(sizeof(int64_t) * m);
    int64_t *idx = malloc(sizeof(int64_t) * n), *low = malloc(sizeof(int64_t) * n);
    int64_t *comp = malloc(sizeof(int64_t) * n), *stk = malloc(sizeof(int64_t) * n);
    int64_t *cs = malloc(sizeof(int64_t) * n), *ce = malloc(sizeof(int64_t) * n);
    char *on = calloc(n, 1);
    int64_t res = -2;
    if (!start || !adj || !idx || !low || !comp || !stk || !cs || !ce || !on) goto out;
    for (int64_t j = 0; j < c->nedges; j++)
        if ((c->edges[4 * j + 3] >> 1) == chk) start[c->edges[4 * j] + 1]++;
    for (int64_t u = 0; u < n; u++) start[u + 1] += start[u];
    {
        int64_t *fill = malloc(sizeof(int64_t) * (n + 1));
        if (!fill) goto out;
        memcpy(fill, start, sizeof(int64_t) * (n + 1));
        for (int64_t j = 0; j < c->nedges; j++)
            if ((c->edges[4 * j + 3] >> 1) == chk) adj[fill[c->edges[4 * j]]++] = c->edges[4 * j + 2];
        free(fill);
    }
    for (int64_t u = 0; u < n; u++) idx[u] = -1;
    int64_t counter = 0, sp = 0, ncomp = 0;
    for (int64_t r = 0; r < n; r++) {
        if (idx[r] >= 0 || start[r] == start[r + 1]) continue;
        int64_t depth = 0;
        cs[0] = r;
        ce[0] = start[r];
        idx[r] = low[r] = counter++;
        stk[sp++] = r;
        on[r] = 1;
        while (depth >= 0) {
            int64_t u = cs[depth];
            if (ce[depth] < start[u + 1]) {
                int64_t v = adj[ce[depth]++];
                if (idx[v] < 0) {
                    idx[v] = low[v] = counter++;
                    stk[sp++] = v;
                    on[v] = 1;
                    depth++;
                    cs[depth] = v;
                    ce[depth] = start[v];
                } else if (on[v] && idx[v] < low[u]) {
                    low[u] = idx[v];
                }
                continue;
            }
            if (low[u] == idx[u]) {
                int64_t w;
                do {
                    w = stk[--sp];
                    on[w] = 0;
                    comp[w] = ncomp;
                } while (w != u);
                ncomp++;
            }
            depth--;
            if (depth >= 0 && low[u] < low[cs[depth]]) low[cs[depth]] = low[u];
        }
    }
    res = -1;
    for (int64_t j = 0, k = 0; j < c->nedges; j++) {
        const int64_t *e = c->edges + 4 * j;
        if ((e[3] >> 1) != chk) continue;
        if ((e[3] & 1) && idx[e[0]] >= 0 && idx[e[2]] >= 0 && comp[e[0]] == comp[e[2]]) {
            res = k;
            break;
        }
        k++;
    }
out:
    free(start); free(adj); free(idx); free(low); free(comp); free(stk); free(cs); free(ce);
    free(on);
    return res;
}

int64_t mm_tag(const Ctx *c, int i) { return c->tagcount[i]; }
const int64_t *mm_edges(const Ctx *c) { return c->edges; }
void mm_key(const Ctx *c, int64_t idx, uint64_t *out) {
    memcpy(out, c->keys + (uint64_t)idx * NW, sizeof(uint64_t) * NW);
}
int64_t mm_parent(const Ctx *c, int64_t idx) { return c->parent[idx]; }
const uint64_t *mm_keys(const Ctx *c) { return c->keys; }
const int32_t *mm_parents(const Ctx *c) { return c->parent; }
const ACTION_T *mm_actions(const Ctx *c) { return c->action; }
uint64_t mm_action(const Ctx *c, int64_t idx) { return (uint64_t)c->action[idx]; }

/* The step function alone (tests, simulation): guard of template t in s; if enabled, the
 * outputs o[] for choice vector ch (-1 = unset). Returns the guard. */
int mm_step(const int32_t *s, int t, const int32_t *ch, int64_t *o) {
    if (!GUARD[t](s)) return 0;
    BODY[t](s, ch, o);
    return 1;
}

/* Every successor of s in the explorer's order: codes[i], post leaves posts[i*NLEAF..],
 * outputs outs[i*NOUT..]. Returns the count (or -1 if more than max). */
int64_t mm_successors(const int32_t *s, int64_t max, uint64_t *codes, int32_t *posts,
                      int64_t *outs) {
    int64_t n = 0;
    int64_t o[NOUT1];
    int32_t stack[MAXSTACK1][NSLOTMAX1];
    for (int t = 0; t < NT; t++) {
        if (!GUARD[t](s)) continue;
        int ns = T_NSLOT[t];
        int sp = 1;
        for (int k = 0; k < ns; k++) stack[0][k] = -1;
        while (sp > 0) {
            int32_t ch[NSLOTMAX1];
            memcpy(ch, stack[--sp], sizeof(int32_t) * (ns ? ns : 1));
            BODY[t](s, ch, o);
            if (push_choices(t, ch, o, stack, &sp)) continue;
            if (n >= max) return -1;
            codes[n] = (uint64_t)encode_action(t, ch, o);
            for (int i = 0; i < NLEAF; i++) posts[n * NLEAF + i] = (int32_t)o[i];
            memcpy(outs + n * NOUT, o, sizeof(int64_t) * NOUT);
            n++;
        }
    }
    return n;
}
