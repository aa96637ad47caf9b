import { DynamicModule, Module } from '@nestjs/common';
import type { ControllerAppConfig } from './controller-options';
import {
  CONTROLLER_APP_CONFIG,
  CONTROLLER_RUNTIME,
  ControllerRunnerService,
  type ControllerRuntime,
} from './controller-runner.service';

/** The controller process: one service that owns the manager, leader election, ops servers and journal. */
@Module({})
export class ControllerAppModule {
  static forConfig(cfg: ControllerAppConfig, runtime: ControllerRuntime): DynamicModule {
    return {
      module: ControllerAppModule,
      providers: [
        { provide: CONTROLLER_APP_CONFIG, useValue: cfg },
        { provide: CONTROLLER_RUNTIME, useValue: runtime },
        ControllerRunnerService,
      ],
    };
  }
}
