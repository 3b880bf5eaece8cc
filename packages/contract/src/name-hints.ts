// Compile errors for a misspelled procedure or channel name. A method that takes a name
// takes `CheckedName<N, Names, Kind>` for its literal N: N itself when it is one of Names,
// so a correct name costs one union-membership check; otherwise a string literal type
// whose text is the error message, which tsc prints as the parameter's type:
//
//   client.call('ad', …)   Argument of type '"ad"' is not assignable to parameter of type
//                          '"'ad' is not a procedure of the contract. Did you mean 'add'?"'.
//
// Everything below CheckedName's false branch is only evaluated for a wrong name: it is
// NoInfer (no inference into it) and distributive over N with `string extends N` first, so
// neither inference nor TypeScript's constraint of the parameter (N as string) reaches the
// hint. The hint is linear in the number of names, and cheap per name: an edit-distance
// check bounded at 2 edits that walks the common prefix and branches only at a difference,
// on lower-cased names. `npm run bench:types` (docs/benchmarks.md) is the guard.
//
// Two traps, measured on the 500-procedure benchmark: a `[N] extends [Names]` check costs
// 2× the whole type-check (the tuples are compared structurally per name), and anything in
// the hint that does not depend on N (listing some of Names) is evaluated once per contract
// on the good path unless it sits behind a check on N.

import type { AnyContract, ChannelName, ProcedureName } from './contract.js';

/** What a name names: `procedure` or `channel`. */
export type NameKind = 'procedure' | 'channel';

/**
 * N when it is one of Names; for another string literal, a string type whose text says
 * that N is not a `Kind` of the contract and names the close matches or some that exist.
 * A non-literal `string` gets Names, as a plain `Names` parameter would.
 */
// `NoInfer<N>` makes the check non-distributive, so that a generic wrapper's `K extends
// Names` is accepted (TypeScript relates K to both branches, and `N & Names` takes it).
export type CheckedName<N extends string, Names extends string, Kind extends NameKind> =
  NoInfer<N> extends Names ? N : NoInfer<(N & Names) | NameError<N, Names, Kind>>;

/** N when it is one of Names, never otherwise. */
export type KnownName<N extends string, Names extends string> = N extends Names ? N : never;

/** `client.call`'s name parameter for N: N, or the error message when C has no such procedure. */
export type CheckedProcedureName<C extends AnyContract, N extends string> = CheckedName<
  N,
  ProcedureName<C>,
  'procedure'
>;

/** The name parameter of `subscribe` and `publish` for N: N, or the error message when C has no such channel. */
export type CheckedChannelName<C extends AnyContract, N extends string> = CheckedName<N, ChannelName<C>, 'channel'>;

/** How many names a message lists when none is close. */
type ListedNames = [unknown, unknown, unknown, unknown, unknown];

// NameError and Hint are distributive over N and start with `string extends N`: while N is a
// type parameter (a call being inferred, a generic wrapper) they stay deferred, and where
// TypeScript works out their constraint (N as its own constraint, string) they are cheap,
// so a correct name never evaluates the hint.
type NameError<N extends string, Names extends string, Kind extends NameKind> = N extends string
  ? string extends N
    ? Names
    : `'${N}' is not a ${Kind} of the contract.${Hint<N, Names, Kind>}`
  : never;

type Hint<N extends string, Names extends string, Kind extends NameKind> = N extends string
  ? string extends N
    ? ''
    : [Names] extends [never]
      ? ` It has no ${Kind}s.`
      : CloseNames<N, Names> extends infer Close extends string
        ? [Close] extends [never]
          ? Existing<Kind, Names, Pool<N, Names>>
          : ` Did you mean ${QuotedList<FirstFew<Close, [unknown, unknown, unknown]>, ' or '>}?`
        : never
  : never;

/**
 * Where to pick existing names from: those of N's namespace (`user.` in `user.gte`), else
 * those with N's first letter, else the namespaces (`'user.…'`) and the names without one.
 * Picking from a union costs its size squared: only a contract of hundreds of names without
 * dots pays that much (for a misspelled name only).
 */
type Pool<N extends string, Names extends string> =
  SameNamespace<N, Names> extends infer Near extends string
    ? [Near] extends [never]
      ? SameInitial<N, Names> extends infer Like extends string
        ? [Like] extends [never]
          ? Namespaces<Names>
          : Like
        : never
      : Near
    : never;

/** `user.…` for each namespace of Names, and the names without a namespace. */
type Namespaces<Names extends string> = Names extends `${infer Namespace}.${string}` ? `${Namespace}.…` : Names;

type Existing<Kind extends NameKind, Names extends string, From extends string> =
  FirstFew<From, ListedNames> extends infer Listed extends string
    ? [Exclude<Names, Listed>] extends [never]
      ? ` Its ${Kind}s: ${QuotedList<Listed, ', '>}.`
      : ` Its ${Kind}s include ${QuotedList<Listed, ', '>}.`
    : never;

// ---- which names are close

/**
 * The closest names to N: those equal to it but for case, else within one edit (case
 * aside), else within two, else those whose last dot-separated part is N's.
 */
type CloseNames<N extends string, Names extends string> =
  Within<Lowercase<N>, Names, []> extends infer Same extends string
    ? [Same] extends [never]
      ? Within<Lowercase<N>, Names, [unknown]> extends infer One extends string
        ? [One] extends [never]
          ? Within<Lowercase<N>, Names, [unknown, unknown]> extends infer Two extends string
            ? [Two] extends [never]
              ? SameLastPart<N, Names>
              : Two
            : never
          : One
        : never
      : Same
    : never;

/** The names within Budget's length of edits of Lower (a lower-cased name). */
type Within<Lower extends string, Names extends string, Budget extends unknown[]> = Names extends unknown
  ? WithinEdits<Lower, Lowercase<Names>, Budget> extends true
    ? Names
    : never
  : never;

type SameLastPart<N extends string, Names extends string> = Names extends unknown
  ? Lowercase<LastPart<Names>> extends Lowercase<LastPart<N>>
    ? Names
    : never
  : never;

/** The names that start with N's first dot-separated part and a dot. */
type SameNamespace<N extends string, Names extends string> = N extends `${infer Namespace}.${string}`
  ? Extract<Names, `${Namespace}.${string}`>
  : never;

/** The names whose first letter is N's, case aside. */
type SameInitial<N extends string, Names extends string> =
  Lowercase<N> extends `${infer Initial}${string}`
    ? Names extends unknown
      ? Lowercase<Names> extends `${Initial}${string}`
        ? Names
        : never
      : never
    : never;

type LastPart<S extends string> = S extends `${string}.${infer Rest}` ? LastPart<Rest> : S;

/**
 * Whether A becomes B with at most Budget's length of insertions, deletions or
 * substitutions. Equal first characters never need an edit (Levenshtein), so the common
 * part is walked in tail recursion; each difference spends one of Budget's elements,
 * three ways.
 */
type WithinEdits<
  A extends string,
  B extends string,
  Budget extends unknown[],
> = A extends `${infer HeadA}${infer TailA}`
  ? B extends `${infer HeadB}${infer TailB}`
    ? HeadA extends HeadB
      ? WithinEdits<TailA, TailB, Budget>
      : Budget extends [unknown, ...infer Less extends unknown[]]
        ? WithinEdits<TailA, TailB, Less> extends true
          ? true
          : WithinEdits<TailA, B, Less> extends true
            ? true
            : WithinEdits<A, TailB, Less>
        : false
    : NoLongerThan<A, Budget>
  : NoLongerThan<B, Budget>;

type NoLongerThan<S extends string, Budget extends unknown[]> = S extends ''
  ? true
  : Budget extends [unknown, ...infer Less extends unknown[]]
    ? S extends `${string}${infer Tail}`
      ? NoLongerThan<Tail, Less>
      : true
    : false;

// ---- listing names

type UnionToIntersection<U> = (U extends unknown ? (x: U) => void : never) extends (x: infer I) => void ? I : never;

/** One member of the union U (the last one TypeScript holds). */
type OneOf<U> = UnionToIntersection<U extends unknown ? () => U : never> extends () => infer Last ? Last : never;

/** At most Count's length members of U. */
type FirstFew<U extends string, Count extends unknown[], Taken extends string = never> = [U] extends [never]
  ? Taken
  : Count extends [unknown, ...infer Less extends unknown[]]
    ? OneOf<U> extends infer One extends string
      ? FirstFew<Exclude<U, One>, Less, Taken | One>
      : Taken
    : Taken;

/** `'a'`, `'a' or 'b'`, `'a', 'b' or 'c'` (with `, ` between all for Last = `, `). */
type QuotedList<U extends string, Last extends string, Tail extends string = ''> = [U] extends [never]
  ? Tail
  : OneOf<U> extends infer One extends string
    ? [Exclude<U, One>] extends [never]
      ? `'${One}'${Tail}`
      : QuotedList<Exclude<U, One>, ', ', `${Last}'${One}'${Tail}`>
    : Tail;
