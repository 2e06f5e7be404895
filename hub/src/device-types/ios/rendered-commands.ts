/**
 * Command plists already rendered on this node, by CommandUUID (docs/BENCHMARKS.md, "Apple MDM:
 * the command loop"). A command is rendered when it is issued (to refuse what its type cannot
 * express) and again each time it is handed out; a command's operation and parameters never change
 * after it is issued, so the hand-out can reuse the first rendering. Only commands whose plist
 * depends on nothing but the command itself are kept (ClearPasscode carries the enrollment's
 * current UnlockToken and is rendered each time). Bounded: the oldest entries are dropped first,
 * and a miss (another node issued it, or it was dropped) simply renders again.
 */
export class RenderedCommands {
  private readonly plists = new Map<string, string>();

  constructor(private readonly limit = 20_000) {}

  get(commandUuid: string): string | undefined {
    return this.plists.get(commandUuid);
  }

  set(commandUuid: string, plist: string): void {
    if (this.plists.size >= this.limit) {
      const oldest = this.plists.keys().next().value;
      if (oldest !== undefined) this.plists.delete(oldest);
    }
    this.plists.set(commandUuid, plist);
  }
}
