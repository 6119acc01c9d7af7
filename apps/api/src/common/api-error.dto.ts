import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import type { ApiError } from '@oblako/contracts';

export class ApiErrorDetailDto {
  @ApiProperty() field: string;
  @ApiProperty({ type: [String] }) problems: string[];
}

/** The body of every non-2xx answer. */
export class ApiErrorDto implements ApiError {
  @ApiProperty() statusCode: number;
  @ApiProperty({ description: 'Stable machine-readable code, e.g. no_capacity, invalid_transition, validation_failed' }) code: string;
  @ApiProperty({ description: 'A sentence a person can act on.' }) message: string;
  @ApiPropertyOptional({ type: [ApiErrorDetailDto] }) details?: ApiErrorDetailDto[];
}
