import { createReadStream, readFileSync } from 'node:fs';
import { Body, Controller, Get, Header, Headers, HttpCode, Inject, Ip, Post, StreamableFile } from '@nestjs/common';
import { ApiHeader, ApiOkResponse, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { NodeJoinResultView, NodeJoinStatusView } from '@oblako/contracts';
import { JoinNodeDto, NodeJoinCheckDto, NodeJoinResultDto, NodeJoinStatusDto } from './fleet.dto.js';
import { JOIN_SCRIPT, NODE_BUNDLE, NodeJoinService } from './node-join.service.js';

const TOKEN_HEADER = { name: 'authorization', description: 'Bearer <join token> (ojt_...)', required: true } as const;

/**
 * What a joining hypervisor calls, with its join token instead of a login. No other route takes a
 * join token, and a join token opens nothing else.
 */
@ApiTags('node join')
@Controller('api/v1/join')
export class NodeJoinController {
  constructor(@Inject(NodeJoinService) private readonly join: NodeJoinService) {}

  @Get('node.sh')
  @Header('content-type', 'text/x-shellscript; charset=utf-8')
  @Header('cache-control', 'no-store')
  @ApiProduces('text/x-shellscript')
  @ApiOkResponse({ description: 'The join script the join command pipes into bash.' })
  script(): string {
    return readFileSync(this.join.bundleFile(JOIN_SCRIPT), 'utf8');
  }

  @Get('check')
  @ApiHeader(TOKEN_HEADER)
  @ApiOkResponse({ type: NodeJoinCheckDto, description: 'The token is unused and unexpired.' })
  async check(@Headers('authorization') auth?: string): Promise<NodeJoinCheckDto> {
    const row = await this.join.check(auth);
    return { nodeId: row.node_id, nodeName: row.node_name, expiresAt: row.expires_at.toISOString() };
  }

  @Get('bundle')
  @ApiHeader(TOKEN_HEADER)
  @Header('content-type', 'application/gzip')
  @Header('cache-control', 'no-store')
  @ApiProduces('application/gzip')
  @ApiOkResponse({ description: 'The node daemon with its runtime (tar.gz), for an unused token.' })
  async bundle(@Headers('authorization') auth?: string): Promise<StreamableFile> {
    await this.join.check(auth);
    return new StreamableFile(createReadStream(this.join.bundleFile(NODE_BUNDLE)));
  }

  @Post()
  @HttpCode(200)
  @ApiHeader(TOKEN_HEADER)
  @Header('cache-control', 'no-store')
  @ApiOkResponse({ type: NodeJoinResultDto, description: 'The node’s own NATS credentials; the token is spent and the node’s older credentials are revoked.' })
  exchange(@Body() dto: JoinNodeDto, @Ip() ip: string, @Headers('authorization') auth?: string): Promise<NodeJoinResultView> {
    return this.join.exchange(auth, ip ?? null, dto.hostname);
  }

  @Get('status')
  @ApiHeader(TOKEN_HEADER)
  @ApiOkResponse({ type: NodeJoinStatusDto, description: 'Whether the joined node reports in (the spent token keeps this right until it expires).' })
  status(@Headers('authorization') auth?: string): Promise<NodeJoinStatusView> {
    return this.join.status(auth);
  }
}
