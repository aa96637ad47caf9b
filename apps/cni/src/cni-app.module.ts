import { DynamicModule, Module } from '@nestjs/common';
import { CniAgentConfig } from '@ycloud/cni';
import { CNI_AGENT_CONFIG, CniAgentService } from './cni-agent.service';

@Module({})
export class CniAppModule {
  static forConfig(cfg: CniAgentConfig): DynamicModule {
    return { module: CniAppModule, providers: [{ provide: CNI_AGENT_CONFIG, useValue: cfg }, CniAgentService] };
  }
}
