/**
 * The reachability picture `netfence matrix` prints: who can reach whom, tenant by tenant and
 * namespace by namespace. Plain data; the formatters in src/cli/matrix/ turn it
 * into text, markdown, mermaid, dot or a self-contained html page.
 */

/** One row (as source) and column (as destination) of a matrix. */
export interface MatrixEntry {
  /** Unique within the matrix: `tenant:<name>`, `namespace:<name>`, `external`, `metadata`. */
  id: string;
  /** What to print: a tenant or namespace name, `outside the cluster`, `cloud metadata`. */
  label: string;
  kind: 'tenant' | 'namespace' | 'external';
  /** The tenant a namespace belongs to (namespace matrix only), when it belongs to one. */
  tenant?: string;
  /** A short description: `3 namespaces, 12 pods`, `Audit`, `no pods in the input: one representative pod`. */
  detail: string;
}

/**
 * How every allowed path of a cell relates to the tenants' fences:
 * - `same`: within one tenant, or within one namespace outside any tenant;
 * - `declared`: crosses a fence, and every TenantIsolation on the way declares it;
 * - `violation`: some path crosses an Enforce tenant's fence undeclared (what `check` fails on);
 * - `audit`: some path crosses undeclared, but only fences of Audit tenants (nothing enforced);
 * - `unfenced`: neither end is in a tenant.
 * `none` when the cell allows nothing.
 */
export type CellFence = 'same' | 'declared' | 'violation' | 'audit' | 'unfenced' | 'none';

export interface MatrixCell {
  /**
   * `all`: every source pod of the row reaches every destination pod of the column on some
   * port; `some`: some pairs do; `none`: no pair does.
   */
  reach: 'all' | 'some' | 'none';
  /** The ports allowed on at least one pair, e.g. `any`, `TCP 443`, `TCP 53; UDP 53`; empty when none. */
  ports: string;
  fence: CellFence;
}

export interface Matrix {
  entries: MatrixEntry[];
  /** `cells[i][j]`: from `entries[i]` to `entries[j]`. */
  cells: MatrixCell[][];
}

export interface MatrixReport {
  /** What was analysed, e.g. `examples/two-tenants (3 tenants, 7 namespaces, 12 pods)`. */
  title: string;
  tenants: Matrix;
  namespaces: Matrix;
  /** Lines worth printing under the picture: representative pods, Audit tenants, conflicts. */
  notes: string[];
  /** Paths that cross an Enforce tenant's fence undeclared, as `netfence check` counts them. */
  violations: number;
}
