import { DynamicModule, Module } from '@nestjs/common';
import { CNI_APP_OPTIONS, CniAgentService } from './cni-agent.service';
import type { CniAppOptions } from './cni-options';

@Module({})
export class CniAppModule {
  static forOptions(options: CniAppOptions): DynamicModule {
    return { module: CniAppModule, providers: [{ provide: CNI_APP_OPTIONS, useValue: options }, CniAgentService] };
  }
}
