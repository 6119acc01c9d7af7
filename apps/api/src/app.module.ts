import { forwardRef, Global, Inject, Injectable, Logger, Module, type DynamicModule, type OnApplicationShutdown } from '@nestjs/common';
import { JwtModule } from '@nestjs/jwt';
import { PassportModule } from '@nestjs/passport';
import { DataSource } from 'typeorm';
import { ApiTokensController } from './api-tokens/api-tokens.controller.js';
import { ApiTokensService } from './api-tokens/api-tokens.service.js';
import { AdminAuditController, TenantAuditController } from './audit/audit.controller.js';
import { AccountRequestsWorker } from './auth/account-requests.worker.js';
import { StaffSecurityController, TenantSecurityController } from './auth/security-settings.controller.js';
import { MailService } from './mail/mail.service.js';
import { MailSettingsService } from './mail/mail-settings.js';
import { MailSettingsController } from './mail/mail-settings.controller.js';
import { NotificationsController } from './notifications/notifications.controller.js';
import { NotificationsService } from './notifications/notifications.service.js';
import { ServerChangeListener } from './notifications/server-change.listener.js';
import { WebhookDispatcher } from './webhooks/webhook-dispatcher.service.js';
import { WebhooksController } from './webhooks/webhooks.controller.js';
import { WebhooksService } from './webhooks/webhooks.service.js';
import { InvitesController, MemberInvitesController } from './tenants/invites.controller.js';
import { InvitesService } from './tenants/invites.service.js';
import { AdminTenantsController } from './tenants/admin-tenants.controller.js';
import { MembersController } from './tenants/members.controller.js';
import { TenantSuspensionService } from './tenants/tenant-suspension.service.js';
import { MembersService } from './tenants/members.service.js';
import { AuditService } from './audit/audit.service.js';
import { AuthController } from './auth/auth.controller.js';
import { AuthService } from './auth/auth.service.js';
import { BillingCoreModule, BillingModule } from './billing/billing.module.js';
import { ApiTokenStrategy, JwtStrategy } from './auth/strategies.js';
import { AdminCatalogueController, AdminImageNodesController, CatalogueController } from './catalogue/catalogue.controller.js';
import { CatalogueService } from './catalogue/catalogue.service.js';
import { ImageProgressHandler, ImageVerificationService } from './images/image-verification.service.js';
import { HeartbeatHistoryService } from './node-events/heartbeat-history.service.js';
import { AdminNodeHeartbeatsController } from './node-events/heartbeat-history.controller.js';
import { APP_CONFIG } from './common/config.provider.js';
import type { AppConfig } from './config/config.js';
import { createDataSource, openDataSource } from './database/data-source.js';
import { AdminFleetController } from './fleet/fleet.controller.js';
import { NodeCredentialsService } from './fleet/node-credentials.service.js';
import { NodeJoinController } from './fleet/node-join.controller.js';
import { NodeJoinService } from './fleet/node-join.service.js';
import { FleetService } from './fleet/fleet.service.js';
import { IpAllocatorService } from './fleet/ip-allocator.service.js';
import { HealthController } from './health/health.controller.js';
import { ApiMetrics } from './metrics/api-metrics.js';
import { MetricsController } from './metrics/metrics.controller.js';
import { NatsService } from './messaging/nats.service.js';
import { BillingPort } from './servers/billing.port.js';
import { DomainStateHandler } from './node-events/domain-state.handler.js';
import { NodeEventHandlers } from './node-events/event-handlers.js';
import { HeartbeatsService } from './node-events/heartbeats.service.js';
import { OrphanReportHandler } from './node-events/orphan-report.handler.js';
import { NodeOrphansService } from './node-events/orphans.service.js';
import { NodeEventsConsumer } from './node-events/node-events.consumer.js';
import { TaskProgressHandler } from './node-events/task-progress.handler.js';
import { TaskResultHandler } from './node-events/task-result.handler.js';
import { WireRefusedHandler } from './node-events/wire-refused.handler.js';
import { AdminNodeUsageController, AdminTrafficController, UsageController } from './usage/usage.controller.js';
import { TrafficQuotaService } from './usage/traffic-quota.service.js';
import { UsageIngestHandler } from './usage/usage-ingest.handler.js';
import { UsageRetentionService } from './usage/usage-retention.service.js';
import { UsageService } from './usage/usage.service.js';
import { TaskRunner } from './operations/task-runner.service.js';
import { NodePlacementService } from './servers/node-placement.service.js';
import { OutboxRelayService } from './servers/outbox-relay.service.js';
import { ServerEventsBus } from './servers/server-events.bus.js';
import { ServersController } from './servers/servers.controller.js';
import { AdminServersController } from './servers/admin-servers.controller.js';
import { AdminTasksController } from './servers/admin-tasks.controller.js';
import { AdminTasksService } from './servers/admin-tasks.service.js';
import { AdminTaskActionsService } from './servers/admin-task-actions.service.js';
import { ComputeLifecycle } from './servers/servers.lifecycle.js';
import { ServerActionsService } from './servers/server-actions.service.js';
import { ServerResizeService } from './servers/server-resize.service.js';
import { ServerOrdersService } from './servers/server-orders.service.js';
import { ServerViewsService } from './servers/server-views.service.js';
import { SshKeysController } from './ssh-keys/ssh-keys.controller.js';
import { SshKeysService } from './ssh-keys/ssh-keys.service.js';
import { AdminConsolesController, ConsolesController } from './consoles/consoles.controller.js';
import { ConsolesService } from './consoles/consoles.service.js';
import { AdminIsosController, IsosController } from './isos/isos.controller.js';
import { IsosService } from './isos/isos.service.js';
import { SnapshotsController } from './snapshots/snapshots.controller.js';
import { BackupsController } from './backups/backups.controller.js';
import { BackupsService } from './backups/backups.service.js';
import { BackupsEngineAdapter } from './backups/backups-engine.adapter.js';
import { BackupStoreDeletesService } from './backups/backup-store-deletes.service.js';
import { TenantBackupsController } from './backups/tenant-backups.controller.js';
import { TenantBackupsService } from './backups/tenant-backups.service.js';
import { SnapshotExpiry, SnapshotsService } from './snapshots/snapshots.service.js';
import { ConsoleRelayService } from './consoles/console-relay.service.js';
import { AdminBackupStoresController } from './backup-stores/backup-stores.controller.js';
import { BackupStoresService } from './backup-stores/backup-stores.service.js';
import { AdminBackupSettingsController, AdminNotStartedBackupsController, BackupScheduleController } from './backup-policy/backup-schedules.controller.js';
import { BackupSchedulesService } from './backup-policy/backup-schedules.service.js';
import { BACKUP_ENGINE, BackupPolicyClock, BackupScheduler } from './backup-policy/backup-scheduler.service.js';

export interface AppModuleOptions {
  config: AppConfig;
  /** Build the module graph without connecting anywhere (to write the OpenAPI document). */
  offline?: boolean;
}

@Injectable()
class DatabaseLifecycle implements OnApplicationShutdown {
  constructor(@Inject(DataSource) private readonly ds: DataSource) {}
  async onApplicationShutdown(): Promise<void> {
    if (this.ds.isInitialized) await this.ds.destroy();
  }
}

@Global()
@Module({})
class CoreModule {
  static register({ config, offline }: AppModuleOptions): DynamicModule {
    return {
      module: CoreModule,
      providers: [
        { provide: APP_CONFIG, useValue: config },
        {
          provide: DataSource,
          useFactory: async () => {
            const settings = { url: config.databaseUrl, poolSize: config.databasePoolSize, logSql: config.logSql };
            if (offline) return createDataSource(settings);
            return openDataSource(settings, (message) => new Logger('Database').warn(message));
          },
        },
        DatabaseLifecycle,
        AuditService,
        NatsService,
        ServerEventsBus,
        MailSettingsService,
        MailService,
        NotificationsService,
        WebhooksService,
        ApiMetrics,
      ],
      exports: [APP_CONFIG, DataSource, AuditService, NatsService, ServerEventsBus, MailSettingsService, MailService, NotificationsService, WebhooksService, ApiMetrics],
    };
  }
}

@Module({})
class AuthModule {
  static register(config: AppConfig): DynamicModule {
    return {
      module: AuthModule,
      imports: [PassportModule.register({ session: false }), JwtModule.register({ secret: config.jwtSecret, signOptions: { algorithm: 'HS256' } })],
      controllers: [AuthController, ApiTokensController, MemberInvitesController, InvitesController, TenantSecurityController, StaffSecurityController, TenantAuditController],
      providers: [AuthService, ApiTokensService, JwtStrategy, ApiTokenStrategy, InvitesService, AccountRequestsWorker],
      exports: [AuthService, ApiTokensService, InvitesService],
    };
  }
}

@Module({ controllers: [CatalogueController, AdminCatalogueController, IsosController, AdminIsosController], providers: [CatalogueService, IsosService] })
class CatalogueModule {}

@Module({ controllers: [AdminFleetController, NodeJoinController], providers: [FleetService, IpAllocatorService, NodeCredentialsService, NodeJoinService], exports: [IpAllocatorService] })
class FleetModule {}

@Module({ controllers: [SshKeysController], providers: [SshKeysService], exports: [SshKeysService] })
class SshKeysModule {}

@Module({ controllers: [HealthController, MetricsController] })
class HealthModule {}

@Module({})
class StaffModule {
  /** @param billing the registered billing module (tenant suspension holds servers through it). */
  static register(billing: DynamicModule): DynamicModule {
    return { module: StaffModule, imports: [billing], controllers: [AdminAuditController, AdminTenantsController, MailSettingsController], providers: [TenantSuspensionService] };
  }
}

@Module({ controllers: [MembersController], providers: [MembersService] })
class MembersModule {}

/** Backup stores (staff), schedules and retention (customers), the grace period of deleted servers' backups (issue 12). */
@Module({
  // the engine (ServersModule's BackupsService and runner) behind the scheduler's BACKUP_ENGINE port
  imports: [forwardRef(() => ServersModule)],
  controllers: [AdminBackupStoresController, BackupScheduleController, AdminBackupSettingsController, AdminNotStartedBackupsController, TenantBackupsController],
  providers: [TenantBackupsService, BackupStoresService, BackupSchedulesService, BackupPolicyClock, BackupScheduler, BackupsEngineAdapter, { provide: BACKUP_ENGINE, useExisting: BackupsEngineAdapter }],
  exports: [BackupStoresService, BackupSchedulesService, BackupPolicyClock, BackupScheduler] })
class BackupPolicyModule {}

/** Webhook endpoints and their dispatcher, notifications and what turns server changes into both. */
@Module({ controllers: [WebhooksController, NotificationsController], providers: [WebhookDispatcher, ServerChangeListener] })
class EventsOutModule {}

@Module({
  imports: [FleetModule, SshKeysModule],
  controllers: [ServersController, AdminServersController, AdminTasksController, UsageController, AdminNodeUsageController, SnapshotsController, BackupsController, AdminTrafficController, AdminImageNodesController, AdminNodeHeartbeatsController],
  providers: [
    ServerOrdersService, ServerViewsService, ServerActionsService, ServerResizeService, AdminTasksService, AdminTaskActionsService, NodePlacementService, OutboxRelayService, TaskRunner, BillingPort, SnapshotsService, BackupsService, BackupStoreDeletesService,
    // node events: each handler registers its kind (node-events/event-handlers.ts)
    NodeEventHandlers, NodeEventsConsumer, HeartbeatsService, TaskProgressHandler, TaskResultHandler, WireRefusedHandler, DomainStateHandler,
    NodeOrphansService, OrphanReportHandler,
    UsageIngestHandler, UsageService, UsageRetentionService, TrafficQuotaService, ImageVerificationService, ImageProgressHandler, HeartbeatHistoryService,
  ],
  exports: [ServerOrdersService, ServerViewsService, TaskRunner, OutboxRelayService, NodeEventsConsumer, NodeEventHandlers, SnapshotsService, BackupsService, BackupStoreDeletesService],
})
class ServersModule {}

@Module({
  imports: [FleetModule, SshKeysModule, ServersModule],
  providers: [ComputeLifecycle, SnapshotExpiry],
})
class ComputeRuntimeModule {}

/** Console tickets (always) and the WebSocket relay to the nodes (not when building offline). */
@Module({})
class ConsolesModule {
  static register(offline: boolean): DynamicModule {
    return {
      module: ConsolesModule,
      controllers: [ConsolesController, AdminConsolesController],
      providers: [ConsolesService, ...(offline ? [] : [ConsoleRelayService])],
    };
  }
}

@Module({})
export class AppModule {
  static register(options: AppModuleOptions): DynamicModule {
    const billing = BillingModule.register(ServersModule, !options.offline);
    return {
      module: AppModule,
      imports: [
        CoreModule.register(options),
        AuthModule.register(options.config),
        CatalogueModule,
        FleetModule,
        SshKeysModule,
        ServersModule,
        BillingCoreModule,
        billing,
        HealthModule,
        StaffModule.register(billing),
        MembersModule,
        BackupPolicyModule,
        EventsOutModule,
        ConsolesModule.register(!!options.offline),
        ...(options.offline ? [] : [ComputeRuntimeModule]),
      ],
    };
  }
}
