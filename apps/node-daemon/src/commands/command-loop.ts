import { join } from 'node:path';
import type { JsMsg } from '@nats-io/jetstream';
import type { z } from 'zod';
import {
  DomainState, IMAGE_VERIFY_OP, ImageVerifyCommandSchema, ORPHAN_DESTROY, OrphanDestroyCommandSchema, parseNodeCommand, parseWith, STORE_DELETE_OP, StoreDeleteCommandSchema, TASK_OPS, WIRE_VERSION, wireMismatch, wireVersionOf,
  type NodeCommand, type OrphanReport, type Subjects, type TaskOp, type TaskResultEvent,
} from '@oblako/contracts';
import { nowMs, sleep } from '../clock.js';
import type { DaemonConfig } from '../config.js';
import { HypervisorErrorCode } from '../hypervisor/port.js';
import { errorMessage, type Logger } from '../log.js';
import type { ImageVerifier } from '../disks/image-verifier.js';
import type { DaemonMetrics } from '../metrics/daemon-metrics.js';
import type { Bus } from '../nats/bus.js';
import type { CommandExecutor } from './executor.js';
import { FinishedTasks } from './finished-tasks.js';
import { FailureCode } from './handlers/index.js';
import type { KeyedQueue } from './keyed-queue.js';
import { StepRecorder } from './recorder.js';

const FETCH_EXPIRES_MS = 5_000;
const KEEPALIVE_MS = 10_000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export interface CommandLoopDeps {
  config: DaemonConfig;
  subjects: Subjects;
  bus: Bus;
  executor: CommandExecutor;
  /** One server's commands never overlap; at most `maxConcurrentCommands` at once. */
  queue: KeyedQueue;
  log: Logger;
  /** Command durations by op and outcome (docs/metrics.md). */
  metrics?: DaemonMetrics;
  /** Tell the API the domain's state after a command (deduplicated by the caller). */
  reportState(serverId: string, state: DomainState): Promise<void>;
  /** Answers `image_verify` (fetch and check an image in this node's cache); without it such commands are refused. */
  images?: ImageVerifier;
}

/**
 * Pulls this node's commands (`maxConcurrentCommands` workers, one message each), checks each against the
 * contract and the node, runs it once (a redelivered command gets the stored result), publishes the result
 * and acks. Results are published before the ack: a crash in between redelivers the command, which converges.
 */
export class CommandLoop {
  readonly finished: FinishedTasks;
  /** serverId → the newest `issuedAt` of a task command received for it (an orphan command issued before that is stale). */
  private readonly lastIssued = new Map<string, number>();
  private stopping = false;
  private readonly pulls = new Set<{ stop(): void }>();
  private readonly stopSignal = new AbortController();
  private workers: Promise<void>[] = [];

  constructor(private readonly d: CommandLoopDeps) {
    // on disk too, so a command finished by a process that was killed before its ack never runs again in the next one
    this.finished = new FinishedTasks(10_000, join(d.config.dataDir, 'commands', `finished-${d.config.nodeId}.jsonl`), (message, err) => d.log.warn(message, { error: errorMessage(err) }));
  }

  start(): void {
    this.workers = Array.from({ length: this.d.config.maxConcurrentCommands }, () => this.worker());
  }

  /** Stop pulling and let the commands in hand finish. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.stopSignal.abort();
    for (const p of this.pulls) p.stop();
    await Promise.allSettled(this.workers);
    await this.d.queue.idle();
  }

  private async worker(): Promise<void> {
    while (!this.stopping) {
      try {
        const batch = await this.d.bus.consumer.fetch({ max_messages: 1, expires: FETCH_EXPIRES_MS });
        this.pulls.add(batch);
        try {
          for await (const m of batch) {
            if (this.stopping) {
              m.nak();
              continue;
            }
            await this.handle(m);
          }
        } finally {
          this.pulls.delete(batch);
        }
      } catch (err) {
        if (this.stopping) break;
        this.d.log.warn('pulling commands failed, retrying', { error: errorMessage(err) });
        await sleep(1000, this.stopSignal.signal);
      }
    }
  }

  private async handle(m: JsMsg): Promise<void> {
    const receivedAt = nowMs();
    if (this.d.subjects.parse(m.subject)?.name === ORPHAN_DESTROY) return this.destroyOrphan(m);
    if (this.d.subjects.parse(m.subject)?.name === IMAGE_VERIFY_OP) return this.verifyImage(m);
    if (this.d.subjects.parse(m.subject)?.name === STORE_DELETE_OP) return this.deleteFromStore(m);
    const cmd = await this.validate(m, receivedAt);
    if (!cmd) return;
    if (cmd.issuedAt > (this.lastIssued.get(cmd.serverId) ?? 0)) this.lastIssued.set(cmd.serverId, cmd.issuedAt);
    const key = FinishedTasks.key(cmd.taskId, cmd.attempt);
    // A copy of a command in progress waits for it; a finished one is answered with its stored result.
    // The last check and `track` run in one tick (no await between them), so two copies taken by two
    // workers at once cannot both find nothing and both run.
    for (;;) {
      const stored = this.finished.get(key);
      if (stored) return this.answerAgain(m, cmd, stored);
      const running = this.finished.inFlight(key);
      if (!running) break;
      await running;
    }
    const work = this.execute(m, cmd, receivedAt);
    this.finished.track(key, work);
    await work;
  }

  private async answerAgain(m: JsMsg, cmd: NodeCommand, stored: TaskResultEvent): Promise<void> {
    try {
      await this.d.bus.events.result(stored);
      m.ack();
      this.d.log.info('command delivered again: answered with its stored result, not run again', { op: cmd.op, taskId: cmd.taskId, attempt: cmd.attempt });
    } catch (err) {
      this.d.log.error('stored result not published, the command will be redelivered', { taskId: cmd.taskId, error: errorMessage(err) });
      m.nak(1000);
    }
  }

  private async execute(m: JsMsg, cmd: NodeCommand, receivedAt: number): Promise<void> {
    const { config, bus, log } = this.d;
    const keepAlive = setInterval(() => m.working(), KEEPALIVE_MS);
    try {
      const rec = new StepRecorder(
        (stage, progress) => bus.events.progress({ v: WIRE_VERSION, taskId: cmd.taskId, serverId: cmd.serverId, nodeId: config.nodeId, attempt: cmd.attempt, stage, progress, at: nowMs() }),
        receivedAt,
        () => m.working(),
      );
      const outcome = await this.d.queue.run(cmd.serverId, () => this.d.executor.execute(cmd, rec));
      if (!outcome.ok && outcome.error?.code === HypervisorErrorCode.Connection && m.info.deliveryCount < 5 && !this.stopping) {
        log.warn('hypervisor unreachable, command will be redelivered', { taskId: cmd.taskId, error: outcome.error.message });
        m.nak(2000);
        return;
      }
      const finishedAt = nowMs();
      const result: TaskResultEvent = {
        v: WIRE_VERSION,
        taskId: cmd.taskId,
        serverId: cmd.serverId,
        nodeId: config.nodeId,
        attempt: cmd.attempt,
        op: cmd.op,
        ok: outcome.ok,
        ...(outcome.error ? { error: { code: outcome.error.code.slice(0, 64), message: outcome.error.message.slice(0, 4000) } } : {}),
        domainState: outcome.domainState,
        ...(outcome.output ? { output: outcome.output } : {}),
        timings: rec.timings(finishedAt),
        at: finishedAt,
      };
      // Remembered before it is published: whatever happens to the publish or the ack, it never runs again.
      this.finished.remember(FinishedTasks.key(cmd.taskId, cmd.attempt), result);
      await bus.events.result(result);
      m.ack();
      this.d.metrics?.commandDuration.observe({ op: cmd.op, outcome: outcome.ok ? 'succeeded' : 'failed' }, (finishedAt - receivedAt) / 1000);
      log[outcome.ok ? 'info' : 'warn']('command done', {
        op: cmd.op, taskId: cmd.taskId, serverId: cmd.serverId, ok: outcome.ok, error: outcome.error, ms: Math.round((finishedAt - receivedAt) * 100) / 100,
      });
      await this.d.reportState(cmd.serverId, outcome.domainState).catch((err: unknown) => log.warn('domain.state not published', { error: errorMessage(err) }));
    } catch (err) {
      // The result could not be published: let JetStream redeliver; the stored result answers it.
      log.error('command not acknowledged, it will be redelivered', { taskId: cmd.taskId, error: errorMessage(err) });
      m.nak(1000);
    } finally {
      clearInterval(keepAlive);
    }
  }

  /**
   * `store_delete` (no server, no task: a deleted server's backup): remove the file from the store, answer with
   * `backup.store_deleted`, then ack. Repeating it is harmless, so a redelivery just does it again.
   */
  private async deleteFromStore(m: JsMsg): Promise<void> {
    const { config, bus, log } = this.d;
    const cmd = await this.nodeOnlyCommand(m, StoreDeleteCommandSchema, STORE_DELETE_OP);
    if (!cmd) return;
    const keepAlive = setInterval(() => m.working(), KEEPALIVE_MS);
    try {
      const done = await this.d.executor.deleteFromStore(cmd);
      await bus.events.storeDeleted({ v: WIRE_VERSION, requestId: cmd.requestId, nodeId: config.nodeId, backupId: cmd.backup.id, ok: done.ok, ...(done.reason ? { reason: done.reason } : {}), at: nowMs() });
      m.ack();
      log[done.ok ? 'info' : 'warn']('backup deleted from its store', { backupId: cmd.backup.id, serverId: cmd.backup.serverId, storeId: cmd.store.id, ok: done.ok, reason: done.reason });
    } catch (err) {
      log.error('store_delete answer not published, the command will be redelivered', { backupId: cmd.backup.id, error: errorMessage(err) });
      m.nak(2000);
    } finally {
      clearInterval(keepAlive);
    }
  }

  /**
   * `image_verify` (no server, no task): fetch and check the image, answer with `image.state`, then ack. One image's
   * checks share one download (the cache's in-flight map); they do not take a server's queue slot. A redelivered
   * request is checked again, which is cheap once the image is cached and converges on the same answer.
   */
  private async verifyImage(m: JsMsg): Promise<void> {
    const { bus, log } = this.d;
    const cmd = await this.nodeOnlyCommand(m, ImageVerifyCommandSchema, IMAGE_VERIFY_OP, this.d.images ? undefined : 'this daemon has no image cache');
    if (!cmd || !this.d.images) return;
    const keepAlive = setInterval(() => m.working(), KEEPALIVE_MS);
    try {
      const answer = await this.d.images.verify(cmd);
      await bus.events.imageState(answer);
      m.ack();
      log[answer.ok ? 'info' : 'warn']('image checked', { imageId: cmd.imageId, sha256: cmd.sha256, ok: answer.ok, reason: answer.reason });
    } catch (err) {
      log.error('image answer not published, the command will be redelivered', { imageId: cmd.imageId, error: errorMessage(err) });
      m.nak(1000);
    } finally {
      clearInterval(keepAlive);
    }
  }

  /**
   * A command that is not a task (`store_delete`, `image_verify`): its wire version checked (another version is
   * refused as for a task), then its schema and node. Anything else is logged and terminated, and answers null; so
   * is a command this daemon cannot take (`unavailable` says why).
   */
  private async nodeOnlyCommand<T extends { nodeId: string }>(m: JsMsg, schema: z.ZodType<T>, op: string, unavailable?: string): Promise<T | null> {
    const { config, log } = this.d;
    let raw: unknown;
    try {
      raw = m.json();
    } catch {
      raw = undefined;
    }
    const theirs = wireVersionOf(raw);
    const mismatch = theirs === null ? null : wireMismatch('daemon', theirs);
    if (mismatch) {
      await this.refuseWireVersion(m, raw, theirs, mismatch);
      return null;
    }
    const parsed = parseWith(schema, raw);
    const refusal = !parsed.ok ? parsed.error : parsed.value.nodeId !== config.nodeId ? `for node ${parsed.value.nodeId}, this is ${config.nodeId}` : unavailable;
    if (refusal || !parsed.ok) {
      log.warn('refusing a command', { op, subject: m.subject, seq: m.seq, error: refusal });
      m.term();
      return null;
    }
    return parsed.value;
  }

  /**
   * The API says this node should no longer hold a server's domain (orphans.ts): not a task, so no result, but an
   * `orphan.report` saying what was done. It runs in the server's queue (never beside a command of that server);
   * the executor touches only a domain with Oblako's name, UUID and metadata mark.
   */
  private async destroyOrphan(m: JsMsg): Promise<void> {
    const { config, bus, log } = this.d;
    let raw: unknown;
    try {
      raw = m.json();
    } catch (err) {
      log.warn('refusing an orphan command that is not JSON', { seq: m.seq, error: errorMessage(err) });
      m.term();
      return;
    }
    const theirs = wireVersionOf(raw);
    const mismatch = theirs === null ? null : wireMismatch('daemon', theirs);
    if (mismatch) return this.refuseWireVersion(m, raw, theirs, mismatch);
    const parsed = parseWith(OrphanDestroyCommandSchema, raw);
    if (!parsed.ok || parsed.value.nodeId !== config.nodeId) {
      log.warn('refusing an orphan command', { seq: m.seq, error: parsed.ok ? `for node ${parsed.value.nodeId}, this is ${config.nodeId}` : parsed.error });
      m.term();
      return;
    }
    const cmd = parsed.value;
    try {
      const done = await this.d.queue.run(cmd.serverId, async () => {
        // A command of this server issued after the API called the domain an orphan (a create placed back here):
        // the domain is the server's again. Checked in the server's queue, after whatever came before it.
        const newer = this.lastIssued.get(cmd.serverId) ?? 0;
        if (newer > cmd.issuedAt) return { outcome: 'kept' as const, message: `a command for server ${cmd.serverId} issued after this orphan command reached the node; the domain stays` };
        return this.d.executor.destroyOrphan(cmd);
      });
      const report: OrphanReport = { v: WIRE_VERSION, nodeId: config.nodeId, serverId: cmd.serverId, outcome: done.outcome, message: done.message, at: nowMs() };
      await bus.events.orphanReport(report);
      m.ack();
      log[done.outcome === 'refused' ? 'warn' : 'info']('orphan command done', { serverId: cmd.serverId, reason: cmd.reason, serverNodeId: cmd.serverNodeId, outcome: done.outcome, message: done.message });
    } catch (err) {
      log.error('orphan command failed, it will be redelivered', { serverId: cmd.serverId, error: errorMessage(err) });
      m.nak(2000);
    }
  }

  /** Another wire version: nothing of the command runs; the API hears why in the frozen refusal format (`wire.ts`). */
  private async refuseWireVersion(m: JsMsg, raw: unknown, theirs: number | null, message: string): Promise<void> {
    const { config, bus, log } = this.d;
    log.error('refusing a command in another wire version', { subject: m.subject, seq: m.seq, commandWireVersion: theirs, daemonWireVersion: WIRE_VERSION, reason: message });
    const r = (raw ?? {}) as Record<string, unknown>;
    const text = (v: unknown) => (typeof v === 'string' ? v.slice(0, 64) : undefined);
    await bus.events
      .wireRefused({
        nodeId: config.nodeId, taskId: text(r.taskId), serverId: text(r.serverId), op: text(r.op) ?? this.opFromSubject(m.subject) ?? undefined,
        nodeWireVersion: WIRE_VERSION, commandWireVersion: theirs, message: `node ${config.nodeId}: ${message}`, at: nowMs(),
      })
      .catch((err: unknown) => log.error('could not report the refused command', { error: errorMessage(err) }));
    m.term();
  }

  /** The command, if it is one for this node that the contract accepts; otherwise it is refused (and terminated). */
  private async validate(m: JsMsg, receivedAt: number): Promise<NodeCommand | null> {
    const { config } = this.d;
    let raw: unknown;
    try {
      raw = m.json();
    } catch (err) {
      await this.refuse(m, undefined, `the message is not JSON: ${errorMessage(err)}`, FailureCode.InvalidCommand, receivedAt);
      return null;
    }
    const theirs = wireVersionOf(raw);
    const mismatch = theirs === null ? null : wireMismatch('daemon', theirs);
    if (mismatch) {
      await this.refuseWireVersion(m, raw, theirs, mismatch);
      return null;
    }
    const parsed = parseNodeCommand(raw);
    if (!parsed.ok) {
      await this.refuse(m, raw, parsed.error, FailureCode.InvalidCommand, receivedAt);
      return null;
    }
    const cmd = parsed.command;
    if (cmd.nodeId !== config.nodeId) {
      await this.refuse(m, raw, `command for node ${cmd.nodeId} delivered to node ${config.nodeId}`, FailureCode.WrongNode, receivedAt);
      return null;
    }
    const subjOp = this.opFromSubject(m.subject);
    if (subjOp && subjOp !== cmd.op) {
      await this.refuse(m, raw, `subject says "${subjOp}" but the command says "${cmd.op}"`, FailureCode.InvalidCommand, receivedAt);
      return null;
    }
    return cmd;
  }

  /** Report a refused command as a failed result when it names a task, then terminate it. */
  private async refuse(m: JsMsg, raw: unknown, error: string, code: string, receivedAt: number): Promise<void> {
    const { config, bus, log } = this.d;
    log.warn('refusing a command', { subject: m.subject, seq: m.seq, code, error });
    const r = (raw ?? {}) as Record<string, unknown>;
    const op = typeof r.op === 'string' && (TASK_OPS as readonly string[]).includes(r.op) ? (r.op as TaskOp) : this.opFromSubject(m.subject);
    if (typeof r.taskId === 'string' && UUID.test(r.taskId) && typeof r.serverId === 'string' && UUID.test(r.serverId) && op) {
      const finishedAt = nowMs();
      const attempt = typeof r.attempt === 'number' && Number.isInteger(r.attempt) && r.attempt >= 1 && r.attempt <= 100 ? r.attempt : undefined;
      await bus.events
        .result({
          v: WIRE_VERSION, taskId: r.taskId, serverId: r.serverId, nodeId: config.nodeId, ...(attempt ? { attempt } : {}), op, ok: false,
          error: { code, message: error.slice(0, 4000) }, domainState: DomainState.Other, timings: { receivedAt, finishedAt, steps: {} }, at: finishedAt,
        })
        .catch((err: unknown) => log.error('could not report a refused command', { error: errorMessage(err) }));
    }
    // Terminate: never redelivered, whatever max_deliver says. (No reason text: nats-server
    // before 2.10 does not understand "+TERM <reason>" and would leave the message pending.)
    m.term();
  }

  private opFromSubject(subject: string): TaskOp | null {
    const name = this.d.subjects.parse(subject)?.name ?? null;
    return name && (TASK_OPS as readonly string[]).includes(name) ? (name as TaskOp) : null;
  }
}
