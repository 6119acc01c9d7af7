import { Body, Controller, Delete, Get, HttpCode, Inject, Patch, Post } from '@nestjs/common';
import { ApiCreatedResponse, ApiNoContentResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { Permission, type AdminIsoView, type IsoView } from '@oblako/contracts';
import { StaffOnly, TenantScoped } from '../common/guards.js';
import { UuidParam } from '../common/params.js';
import { CurrentActor, type Actor } from '../common/request-context.js';
import { AdminIsoDto, CreateIsoDto, IsoDto, UpdateIsoDto } from './isos.dto.js';
import { IsosService } from './isos.service.js';

@ApiTags('catalogue')
@Controller('api/v1/isos')
@TenantScoped(Permission.ServersRead)
export class IsosController {
  constructor(@Inject(IsosService) private readonly isos: IsosService) {}

  @Get()
  @ApiOkResponse({ type: [IsoDto], description: 'ISOs a server can boot from (boot_iso)' })
  list(): Promise<IsoView[]> {
    return this.isos.listActive();
  }
}

@ApiTags('admin: catalogue')
@Controller('api/v1/admin/isos')
@StaffOnly(Permission.CatalogueManage)
export class AdminIsosController {
  constructor(@Inject(IsosService) private readonly isos: IsosService) {}

  @Get()
  @ApiOkResponse({ type: [AdminIsoDto] })
  list(): Promise<AdminIsoView[]> {
    return this.isos.listAll();
  }

  @Post()
  @ApiCreatedResponse({ type: AdminIsoDto })
  create(@CurrentActor() actor: Actor, @Body() dto: CreateIsoDto): Promise<AdminIsoView> {
    return this.isos.create(actor, dto);
  }

  @Patch(':id')
  @ApiOkResponse({ type: AdminIsoDto })
  update(@CurrentActor() actor: Actor, @UuidParam() id: string, @Body() dto: UpdateIsoDto): Promise<AdminIsoView> {
    return this.isos.update(actor, id, dto);
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiNoContentResponse()
  async remove(@CurrentActor() actor: Actor, @UuidParam() id: string): Promise<void> {
    await this.isos.remove(actor, id);
  }
}
