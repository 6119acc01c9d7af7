import { Injectable, Logger } from '@nestjs/common';
import type { z } from 'zod';

/**
 * The handler of one kind of node event (the `<kind>` of `oblako.node.<nodeId>.evt.<kind>`). The consumer has
 * already checked the payload against `schema` and that its `nodeId` is the subject's; throw `RejectedEvent`
 * (operations/task-runner.service.ts) to refuse it for good, anything else to have it redelivered.
 *
 * A handler registers itself: `@Injectable() class XHandler implements NodeEventHandler, OnModuleInit`, with
 * `onModuleInit() { this.registry.register(this); }`, and is listed among its module's providers.
 */
export interface NodeEventHandler<T extends { nodeId: string } = { nodeId: string }> {
  readonly kind: string;
  readonly schema: z.ZodType<T>;
  handle(nodeId: string, event: T): Promise<void>;
}

/** Node event handlers by kind. A kind nobody registered is an error: logged and counted, never silently dropped. */
@Injectable()
export class NodeEventHandlers {
  private readonly logger = new Logger('NodeEventHandlers');
  private readonly byKind = new Map<string, NodeEventHandler>();
  private readonly unhandledCounts = new Map<string, number>();

  register<T extends { nodeId: string }>(handler: NodeEventHandler<T>): void {
    if (this.byKind.has(handler.kind)) throw new Error(`Two handlers for node event kind "${handler.kind}"`);
    this.byKind.set(handler.kind, handler as unknown as NodeEventHandler);
  }

  get(kind: string): NodeEventHandler | undefined {
    return this.byKind.get(kind);
  }

  get kinds(): string[] {
    return [...this.byKind.keys()].sort();
  }

  /** An event of a kind no handler takes: counted by kind and logged as an error. */
  unhandled(kind: string, subject: string): void {
    const n = (this.unhandledCounts.get(kind) ?? 0) + 1;
    this.unhandledCounts.set(kind, n);
    this.logger.error(`No handler for node event kind "${kind}" (on ${subject}); ${n} such event(s) refused so far`);
  }

  /** Events refused for want of a handler, by kind, since start. */
  get unhandledByKind(): Record<string, number> {
    return Object.fromEntries(this.unhandledCounts);
  }
}
