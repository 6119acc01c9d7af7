import { ValidateBy, type ValidationOptions } from 'class-validator';

/**
 * A name a person will read back: at least one character that is not white space. Use it with
 * IsString and MaxLength on every name field (services store the trimmed text).
 */
export function IsNotBlank(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isNotBlank',
      validator: {
        validate: (value: unknown) => typeof value === 'string' && value.trim().length > 0,
        defaultMessage: (args) => `${args?.property ?? 'this field'} must not be empty or only spaces`,
      },
    },
    options,
  );
}
