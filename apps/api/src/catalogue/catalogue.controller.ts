import { Body, Controller, Delete, Get, HttpCode, Inject, ParseUUIDPipe, Patch, Post, Query } from '@nestjs/common';
import { ApiAcceptedResponse, ApiCreatedResponse, ApiOkResponse, ApiQuery, ApiTags } from '@nestjs/swagger';
import { Permission, type ImageView, type LocationView, type PlanView } from '@oblako/contracts';
import { Authenticated, StaffOnly } from '../common/guards.js';
import { UuidParam } from '../common/params.js';
import { CommonError } from '../common/domain-error.js';
import { CurrentActor, type Actor } from '../common/request-context.js';
import {
  AdminImageDto, CreateImageDto, ImageNodeStateDto, CreateLocationDto, CreatePlanDto, ImageDto, LocationDto, PlanDto, UpdateImageDto, UpdateLocationDto, UpdatePlanDto,
} from './catalogue.dto.js';
import { CatalogueService } from './catalogue.service.js';
import { ImageVerificationService } from '../images/image-verification.service.js';

@ApiTags('catalogue')
@Controller('api/v1')
@Authenticated()
export class CatalogueController {
  constructor(@Inject(CatalogueService) private readonly catalogue: CatalogueService) {}

  @Get('locations')
  @ApiOkResponse({ type: [LocationDto] })
  locations(): Promise<LocationView[]> {
    return this.catalogue.listLocations();
  }

  @Get('plans')
  @ApiOkResponse({ type: [PlanDto] })
  plans(): Promise<PlanView[]> {
    return this.catalogue.listPlans();
  }

  @Get('images')
  @ApiOkResponse({ type: [ImageDto], description: 'The images on offer: active and verified on a node (of the location, when given)' })
  @ApiQuery({ name: 'locationId', required: false, description: 'Only images verified on a node of this location' })
  images(@Query('locationId', new ParseUUIDPipe({ optional: true, exceptionFactory: () => new CommonError('validation_failed', 'locationId must be a UUID.') })) locationId?: string): Promise<ImageView[]> {
    return this.catalogue.listImages(locationId);
  }
}

@ApiTags('admin: catalogue')
@Controller('api/v1/admin')
@StaffOnly(Permission.CatalogueManage)
export class AdminCatalogueController {
  constructor(@Inject(CatalogueService) private readonly catalogue: CatalogueService) {}

  @Get('locations') @ApiOkResponse({ type: [LocationDto] })
  locations() { return this.catalogue.listLocations(); }
  @Post('locations') @ApiCreatedResponse({ type: LocationDto })
  createLocation(@CurrentActor() a: Actor, @Body() dto: CreateLocationDto) { return this.catalogue.createLocation(a, dto); }
  @Patch('locations/:id') @ApiOkResponse({ type: LocationDto })
  updateLocation(@CurrentActor() a: Actor, @UuidParam() id: string, @Body() dto: UpdateLocationDto) { return this.catalogue.updateLocation(a, id, dto); }
  @Delete('locations/:id') @HttpCode(204)
  deleteLocation(@CurrentActor() a: Actor, @UuidParam() id: string) { return this.catalogue.deleteLocation(a, id); }

  @Get('plans') @ApiOkResponse({ type: [PlanDto] })
  plans() { return this.catalogue.listPlans(true); }
  @Post('plans') @ApiCreatedResponse({ type: PlanDto })
  createPlan(@CurrentActor() a: Actor, @Body() dto: CreatePlanDto) { return this.catalogue.createPlan(a, dto); }
  @Patch('plans/:id') @ApiOkResponse({ type: PlanDto })
  updatePlan(@CurrentActor() a: Actor, @UuidParam() id: string, @Body() dto: UpdatePlanDto) { return this.catalogue.updatePlan(a, id, dto); }
  @Delete('plans/:id') @HttpCode(204)
  deletePlan(@CurrentActor() a: Actor, @UuidParam() id: string) { return this.catalogue.deletePlan(a, id); }

  @Get('images') @ApiOkResponse({ type: [AdminImageDto] })
  images() { return this.catalogue.listImagesForStaff(); }
  @Post('images') @ApiCreatedResponse({ type: AdminImageDto })
  createImage(@CurrentActor() a: Actor, @Body() dto: CreateImageDto) { return this.catalogue.createImage(a, dto); }
  @Patch('images/:id') @ApiOkResponse({ type: AdminImageDto })
  updateImage(@CurrentActor() a: Actor, @UuidParam() id: string, @Body() dto: UpdateImageDto) { return this.catalogue.updateImage(a, id, dto); }
  @Delete('images/:id') @HttpCode(204)
  deleteImage(@CurrentActor() a: Actor, @UuidParam() id: string) { return this.catalogue.deleteImage(a, id); }
}

/** Staff: where an image stands on each node, and "Verify now" (issues 13 and 15). */
@ApiTags('admin: catalogue')
@Controller('api/v1/admin/images/:id/nodes')
@StaffOnly(Permission.CatalogueManage)
export class AdminImageNodesController {
  constructor(@Inject(ImageVerificationService) private readonly verification: ImageVerificationService) {}

  @Get() @ApiOkResponse({ type: [ImageNodeStateDto] })
  states(@UuidParam() id: string) { return this.verification.statesOf(id); }
  @Post(':nodeId/verify') @HttpCode(202) @ApiAcceptedResponse({ type: ImageNodeStateDto, description: 'Asked: the node fetches the image and checks it; the state turns verified or failed' })
  verify(@CurrentActor() a: Actor, @UuidParam() id: string, @UuidParam('nodeId') nodeId: string) { return this.verification.verifyNow(a, id, nodeId); }
}
