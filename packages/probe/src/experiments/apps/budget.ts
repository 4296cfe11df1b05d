/**
 * The data budget (`--data-budget`): volunteers often pay per megabyte. An experiment settles what
 * its trace has cost so far before each new endpoint fetch, and starts none once the budget is
 * exhausted; fetches already under way finish (a run may overshoot by what they cost).
 */
import type { Trace } from '../../net/trace.js';
import type { DataBudget } from './types.js';

/** A budget of BYTES for a whole run, to share between experiments. */
export function createDataBudget(bytes: number): DataBudget & { readonly spent: number } {
  let spent = 0;
  return {
    remaining: () => bytes - spent,
    spend: (n: number) => {
      if (Number.isFinite(n) && n > 0) spent += n;
    },
    get spent() {
      return spent;
    },
  };
}

/** One measurement's view of the budget: its trace's bytes are spent as they settle. */
export class BudgetGate {
  private settled = 0;
  /** True once a fetch was refused for lack of budget. */
  exhausted = false;

  constructor(
    private readonly budget: DataBudget | undefined,
    private readonly trace: Trace,
  ) {}

  /** Spend what the trace has cost since the last call. */
  settle(): void {
    if (!this.budget) return;
    const total = this.trace.bytesSent + this.trace.bytesReceived;
    if (total > this.settled) {
      this.budget.spend(total - this.settled);
      this.settled = total;
    }
  }

  /** Whether a new fetch may start; records the refusal when not. */
  mayStart(): boolean {
    if (!this.budget) return true;
    this.settle();
    if (this.budget.remaining() > 0) return true;
    this.exhausted = true;
    return false;
  }
}
